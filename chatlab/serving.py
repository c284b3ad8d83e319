"""What every server engine offers its callers, written once.

An engine (:class:`~chatlab.server.ChatServer`, threads;
:class:`~chatlab.aio_server.AsyncioChatServer`, an event loop) subclasses
:class:`ServerBase` and supplies :meth:`~ServerBase.start` and
:meth:`~ServerBase.stop`; the settings, the registry of who is online and
the ways to wait for a server are the same for all of them. That is what
lets the CLI, the notebooks, the benchmark and the tests swap engines.
"""

from __future__ import annotations

import abc
import threading

from .framing import MAX_FRAME_SIZE
from .protocol import DEFAULT_HOST, DEFAULT_PORT
from .registry import Registry

__all__ = ["ServerBase"]


class ServerBase(abc.ABC):
    """A chat server's settings and lifecycle, whatever does the I/O.

    For callers: :meth:`start`, :meth:`stop`, :meth:`wait`,
    :meth:`serve_forever`, :attr:`address`, :meth:`online`, :attr:`stopped`;
    also a context manager (start, then stop).

    Limits, all keyword arguments: ``handshake_timeout`` (seconds a new
    connection has to say hello), ``max_clients``, ``max_outbox_bytes`` (how far
    a client may fall behind before it is disconnected as too slow),
    ``max_frame_size``.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        handshake_timeout: float = 10.0,
        max_clients: int = 1000,
        max_outbox_bytes: int = 1024 * 1024,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        self.host = host
        self.port = port
        self.handshake_timeout = handshake_timeout
        self.max_outbox_bytes = max_outbox_bytes
        self.max_frame_size = max_frame_size
        self.registry = Registry(max_members=max_clients)
        self._listener = None  # the listening socket, once started
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    @abc.abstractmethod
    def start(self) -> ServerBase:
        """Bind, listen and serve in the background; return self.

        Raises ``OSError`` (for example "Address already in use") if it cannot listen.
        """

    @abc.abstractmethod
    def stop(self, reason: str = "server shutting down", timeout: float = 5.0) -> None:
        """Stop: no new clients, a shutdown notice to everyone, everything joined.

        Clients get ``timeout / 2`` seconds to read the notice and close;
        connections still open then are closed. Safe to call more than once.
        """

    def serve_forever(self) -> None:
        """Start (if needed) and block until :meth:`stop` is called from another thread or a signal."""
        if self._listener is None:
            self.start()
        try:
            self.wait()
        finally:  # Ctrl+C included: stop cleanly, then let the interrupt go on
            self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server has stopped; True if it has."""
        return self._stopped.wait(timeout)

    def __enter__(self):
        return self.start() if self._listener is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` the server listens on; the real port once started with port 0."""
        return self.host, self.port

    def online(self) -> list[str]:
        """The aliases in the chat now, in the order they joined."""
        return self.registry.aliases()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has finished."""
        return self._stopped.is_set()
