"""The server engines chatlab ships, by name, all speaking the same protocol.

Every engine is a class with the :class:`~chatlab.server.ChatServer` API for
callers (``start``, ``stop``, ``wait``, ``serve_forever``, ``address``,
``online``, context manager) and the same keyword limits, so the CLI, the
notebooks, the benchmark and the test suite can swap one for another.
"""

from __future__ import annotations

from .aio_server import AsyncioChatServer
from .server import ChatServer

__all__ = ["DEFAULT_ENGINE", "ENGINES", "make_server"]

#: Engine name -> server class.
ENGINES: dict[str, type] = {
    "threaded": ChatServer,
    "asyncio": AsyncioChatServer,
}
DEFAULT_ENGINE = "threaded"


def make_server(engine: str = DEFAULT_ENGINE, *args, **kwargs):
    """Return an (unstarted) server of the named engine.

    >>> make_server("threaded", port=0)
    <chatlab.server.ChatServer object at ...>
    """
    try:
        cls = ENGINES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}") from None
    return cls(*args, **kwargs)
