"""Exercise 09 · graceful_shutdown: stop a server without hanging and without losing a word.

Stopping a threaded server is harder than it looks. The accept loop is
waiting in ``select()``; each client's thread is blocked in ``recv()``, maybe
for hours. Setting a flag wakes none of them, and closing a socket that
another thread is blocked on does not wake it either: that is the server that
hangs on Ctrl+C. A graceful stop wakes every thread on purpose, tells every
client why the connection is ending, and waits for the threads to finish.

``TinyChat`` below is a small but real chatlab server (real clients can join
it and talk). Write its ``stop(reason, timeout)``:

1. If ``self._stopping`` is already set, return: stopping twice is harmless.
   Otherwise set it.
2. Wake the accept loop: send one byte on ``self._wakeup_w`` (its ``select()``
   watches the other end), then join ``self._accept_thread`` (with ``timeout``).
   From now on nobody new gets in.
3. Take a copy of ``self._clients`` (under ``self._lock``). To each client
   socket, send the notice with ``self._send(sock, Shutdown(reason))``, then
   wake its thread with ``sock.shutdown(socket.SHUT_RDWR)`` (ignore ``OSError``:
   the client may be gone already).
4. Join every client thread (with ``timeout``), then close ``self._listener``,
   so a client that tries to connect now is refused.

Example::

    server = TinyChat()                     # listening on server.address
    alice = ChatClient.connect(*server.address, "alice")
    server.stop()                           # returns once every thread has ended
    alice.receive(timeout=5)                # -> Shutdown(reason='server shutting down')

Check it with ``chatlab exercises check graceful_shutdown``.
"""

from __future__ import annotations

import selectors
import socket
import threading

from chatlab.errors import ProtocolError
from chatlab.events import CLIENT_EVENTS, Event, Hello, Message, Say, Shutdown, Welcome
from chatlab.protocol import Decoder, encode


class TinyChat:
    """A thread-per-client chat server, started on creation; ``stop()`` ends it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._wakeup_r, self._wakeup_w = socket.socketpair()  # a byte on _wakeup_w wakes the accept loop
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # guards _clients and _aliases
        self._send_lock = threading.Lock()  # one frame at a time on any socket
        self._clients: dict[socket.socket, threading.Thread] = {}  # connected sockets and their threads
        self._aliases: dict[socket.socket, str] = {}  # sockets that said hello
        self._threads: list[threading.Thread] = []  # every thread this server started
        self._accept_thread = self._start(self._accept_loop, "tinychat-accept")

    # -- for you to write -----------------------------------------------------

    def stop(self, reason: str = "server shutting down", timeout: float = 5.0) -> None:
        """Stop accepting, tell every client ``reason``, wake and join every thread."""
        # TODO: once only: wake the accept loop, notify and shut down each client, join, close the listener.
        raise NotImplementedError("exercise graceful_shutdown: replace this line with your code")
        # END TODO

    # -- given ----------------------------------------------------------------

    def threads(self) -> list[threading.Thread]:
        """Every thread this server started (all of them have ended after a good ``stop()``)."""
        with self._lock:
            return list(self._threads)

    def _start(self, target, name: str, *args) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()
        return thread

    def _accept_loop(self) -> None:
        """Accept clients until ``_stopping`` is set; a byte on ``_wakeup_w`` wakes the ``select()``."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wakeup_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._listener and not self._stopping.is_set():
                        self._accept_one()

    def _accept_one(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:
            return  # the client gave up already
        sock.setblocking(True)
        thread = threading.Thread(target=self._serve, args=(sock,), name="tinychat-client", daemon=True)
        with self._lock:
            self._clients[sock] = thread
            self._threads.append(thread)
        thread.start()

    def _serve(self, sock: socket.socket) -> None:
        """One client: hello, then relay each ``say`` to the others, until EOF or shutdown."""
        decoder = Decoder(accept=CLIENT_EVENTS)
        try:
            while True:
                data = sock.recv(65536)
                decoder.feed(data)
                for event in decoder:
                    self._handle(sock, event)
                if not data:
                    break
        except (OSError, ProtocolError):
            pass
        finally:
            with self._lock:
                self._clients.pop(sock, None)
                self._aliases.pop(sock, None)
            sock.close()

    def _handle(self, sock: socket.socket, event: Event) -> None:
        with self._lock:
            alias = self._aliases.get(sock)
            others = [s for s in self._aliases if s is not sock]
            if alias is None and isinstance(event, Hello):
                online = tuple(self._aliases.values())
                self._aliases[sock] = event.alias
        if alias is None and isinstance(event, Hello):
            self._send(sock, Welcome(event.alias, online))
        elif alias is not None and isinstance(event, Say):
            for other in others:
                self._send(other, Message(alias, event.text))

    def _send(self, sock: socket.socket, event: Event) -> None:
        """Send ``event`` to one client; a client that is gone is ignored."""
        try:
            with self._send_lock:
                sock.sendall(encode(event))
        except OSError:
            pass
