"""The course, step by step: each stage of the chat server as a small module you can run and diff.

=========  =====================================================================
step       what it is
=========  =====================================================================
echo       an echo server: one thread per connection, sends back what it gets
classic    the classic tutorial chat, every known defect kept on purpose
framed     classic + length-prefixed frames and chatlab's protocol
locked     framed + one dict under a lock, handshake in the client's thread
final      chatlab's own server (:mod:`chatlab.server`): outboxes, clean shutdown
=========  =====================================================================

Read them in that order; ``diff classic.py framed.py`` shows exactly one lesson.
Start any of them from code with :func:`start` (port 0 picks a free port),
or from a shell with ``chatlab server --step NAME``.

The classic, framed and locked servers cannot be stopped cleanly (that is one
of their bugs), so :func:`start` runs them in a process of their own, which
``stop()`` kills. ``echo`` and ``final`` run in threads of the caller.
"""

from __future__ import annotations

from ._process import StepProcess

__all__ = ["STEPS", "StepProcess", "start"]

#: Step name -> one line saying what it adds, in course order.
STEPS: dict[str, str] = {
    "echo": "echo server: a thread per connection sends back what it receives",
    "classic": "the classic tutorial chat, with its 10 known defects kept on purpose",
    "framed": "classic + length-prefixed framing (chatlab's protocol)",
    "locked": "framed + a registry under a lock, handshake in the client's thread",
    "final": "chatlab's server: outboxes, one cleanup path, clean shutdown, SO_REUSEADDR",
}

#: Steps that run in a process of their own, so that they can always be stopped.
IN_A_PROCESS = ("classic", "framed", "locked")


def start(name: str, host: str = "127.0.0.1", port: int = 0, *, echo_output: bool = False):
    """Start step ``name`` listening on ``host:port``; return it, running.

    Whatever the step, the result has ``address`` (``(host, port)``, the real
    port when ``port`` is 0) and ``stop()``, and is a context manager.
    ``echo_output=True`` prints what a step process logs (used by the CLI).
    Raises ``OSError`` if the step cannot listen there.
    """
    if name not in STEPS:
        raise ValueError(f"unknown step {name!r}; choose from {', '.join(STEPS)}")
    if name in IN_A_PROCESS:
        return StepProcess(name, host, port, echo_output=echo_output)
    if name == "echo":
        from .echo import EchoServer

        return EchoServer(host, port).start()
    from ..server import ChatServer

    return ChatServer(host, port).start()
