"""The threaded chat server: a listening loop that only accepts, and one handler per client.

The split follows :mod:`socketserver`: :class:`ChatServer` owns the listening
socket, the registry and the lifecycle; :class:`~chatlab.connection.ClientConnection`
owns one client. The accept loop never reads from a client, so one client
that connects and says nothing cannot keep anyone else out.

    >>> from chatlab import ChatClient, ChatServer
    >>> with ChatServer(port=0) as server:           # port 0: any free port
    ...     with ChatClient.connect(*server.address, "alice") as alice:
    ...         server.online()
    ['alice']
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import time

from .connection import ClientConnection
from .events import Shutdown
from .protocol import DEFAULT_HOST, DEFAULT_PORT
from .serving import ServerBase

__all__ = ["ChatServer"]

log = logging.getLogger("chatlab.server")


class ChatServer(ServerBase):
    """A chat server with a thread per client, safe to start and stop from code.

    The API for callers and the limits are :class:`~chatlab.serving.ServerBase`'s.
    """

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, **limits) -> None:
        super().__init__(host, port, **limits)
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._accepting: threading.Thread | None = None
        self._connections: set[ClientConnection] = set()
        self._connections_lock = threading.Lock()
        self._count = 0

    # -- lifecycle --------------------------------------------------------

    def start(self) -> ChatServer:
        """Bind, listen and start accepting in a background thread; return self."""
        if self._listener is not None:
            raise RuntimeError("server already started")
        self._listener = _listen(self.host, self.port)
        self.host, self.port = self._listener.getsockname()[:2]
        self._accepting = threading.Thread(target=self._accept_loop, name="chatlab-accept", daemon=True)
        self._accepting.start()
        log.debug("server: listening on %s:%d", self.host, self.port)
        return self

    def stop(self, reason: str = "server shutting down", timeout: float = 5.0) -> None:
        """Stop: no new clients, a shutdown notice to everyone, every thread joined."""
        if self._stopping.is_set():
            self._stopped.wait(timeout)
            return
        self._stopping.set()
        log.info("server: stopping (%s)", reason)
        if self._accepting is not None:
            self._wakeup_w.send(b"x")  # wakes the accept loop's select()
            self._accepting.join()
        self.registry.close()  # no joins, no broadcasts, no "left" notices from now on
        connections = self._snapshot()
        for conn in connections:
            conn.finish(Shutdown(reason))
        _join_all(connections, timeout / 2)  # polite: clients read the notice and close
        for conn in self._snapshot():
            conn.close("server shutting down", announce=False)
        _join_all(self._snapshot(), timeout / 2)
        if self._listener is not None:
            self._listener.close()
        self._wakeup_r.close()
        self._wakeup_w.close()
        log.info("server: stopped")
        self._stopped.set()

    # -- the accept loop --------------------------------------------------

    def _accept_loop(self) -> None:
        """Accept connections until stopped; never read from a client here."""
        assert self._listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wakeup_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._listener:
                        self._accept_one()

    def _accept_one(self) -> None:
        assert self._listener is not None
        try:
            sock, peer = self._listener.accept()
        except BlockingIOError:
            return  # the client gave up between select() and accept()
        except OSError as exc:  # e.g. too many open files: keep serving the others
            log.warning("server: cannot accept: %s", exc)
            self._stopping.wait(0.1)  # do not spin while the condition lasts
            return
        sock.setblocking(True)
        _tune(sock)
        self._count += 1
        conn = ClientConnection(self, sock, self._count)
        with self._connections_lock:
            self._connections.add(conn)
        log.debug("server: %r from %s:%d", conn, *peer[:2])
        conn.start()

    # -- called by connections -------------------------------------------

    def _forget(self, conn: ClientConnection) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def _drop_slow(self, members: list) -> None:
        """Disconnect members whose outbox overflowed: they fell too far behind."""
        for member in members:
            member.close("too slow")

    def _snapshot(self) -> list[ClientConnection]:
        with self._connections_lock:
            return list(self._connections)


def _tune(sock: socket.socket) -> None:
    """Socket options for a chat connection."""
    # Chat messages are small and wanted now: do not let Nagle's algorithm hold them back.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A client whose machine vanishes (power cut, network gone) sends no FIN and no RST:
    # without keepalive probes its reader would wait forever and its alias stay taken.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):  # Linux names; other systems keep their defaults
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _join_all(connections: list[ClientConnection], timeout: float) -> None:
    """Wait for all ``connections`` to end, ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    for conn in connections:
        conn.join(max(0.0, deadline - time.monotonic()))


def _listen(host: str, port: int) -> socket.socket:
    """Return a non-blocking listening socket on ``host:port`` (IPv4 or IPv6)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":
            # Lets a restarted server bind while old connections sit in TIME_WAIT.
            # (On Windows the same option would let two servers share the port.)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
