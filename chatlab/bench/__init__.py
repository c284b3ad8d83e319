"""``chatlab bench``: measure chat servers under load, chatlab's engines and Redis side by side.

The pieces, in the order a run uses them:

* :mod:`~chatlab.bench.servers` starts the server under test in a process of
  its own (a chatlab engine, the classic tutorial server, or ``redis-server``)
  and reads its CPU time and memory;
* :mod:`~chatlab.bench.load` runs subscribers and publishers, each group in
  processes of their own, so the measurement is of the server, not of them;
* :mod:`~chatlab.bench.wire` is what they send and how they read it back fast;
* :mod:`~chatlab.bench.runner` ties one measurement together and always
  cleans up; :mod:`~chatlab.bench.cli` is the command line.

From Python (a notebook)::

    from chatlab.bench import Params, run
    doc = run(["threaded", "asyncio"], [10], Params(duration=2))
"""

__all__ = ["BenchError", "Params", "measure", "measure_idle", "run"]


def __getattr__(name: str):
    # Imported on first use: ``chatlab --help`` must not need numpy.
    if name == "BenchError":
        from .servers import BenchError

        return BenchError
    if name in __all__:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
