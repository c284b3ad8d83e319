"""The classic tutorial chat server, kept as the baseline the benchmark compares against.

This is the server most tutorials write: a thread per client, and a broadcast
that loops over the clients calling ``sendall`` once per message per peer,
holding a lock. It speaks chatlab's framed protocol (hello, welcome, say,
message), so the same load generator measures it, but it keeps the two
costs that make it slow:

* **one system call per message per peer**: 100 clients and 1,000 messages
  a second is 100,000 ``send()`` calls a second, each a trip into the kernel;
* **the sender does the sending**: the thread that read a message writes it
  to every peer before it reads the next one, while every other client's
  thread waits for the lock (and for the GIL).

It also has the classic's bugs (a client that stops reading blocks everyone,
no limits), which is why it is not a chatlab engine: see
``notebooks/07_performance.ipynb``. Do not use it for anything but comparison.
"""

from __future__ import annotations

import socket
import threading

from ..events import CLIENT_EVENTS, Hello, Message, Say, Welcome
from ..protocol import Decoder, encode
from ..server import _listen

__all__ = ["ClassicServer"]


class ClassicServer:
    """Thread per client, one ``sendall`` per message per peer. ``start()``, ``stop()``, ``address``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **limits: object) -> None:
        self.host, self.port = host, port  # limits are accepted and ignored, as a tutorial would
        self.clients: dict[socket.socket, str] = {}
        self.lock = threading.Lock()
        self._listener: socket.socket | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> ClassicServer:
        self._listener = _listen(self.host, self.port)
        self._listener.setblocking(True)
        self.host, self.port = self._listener.getsockname()[:2]
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        with self.lock:
            for sock in self.clients:
                sock.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        decoder = Decoder(accept=CLIENT_EVENTS)
        alias = None
        try:
            while data := sock.recv(65536):
                decoder.feed(data)
                for event in decoder:
                    if alias is None and isinstance(event, Hello):
                        alias = event.alias
                        with self.lock:
                            sock.sendall(encode(Welcome(alias, tuple(self.clients.values()))))
                            self.clients[sock] = alias
                    elif alias is not None and isinstance(event, Say):
                        self.broadcast(encode(Message(alias, event.text)), sock)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.clients.pop(sock, None)
            sock.close()

    def broadcast(self, frame: bytes, sender: socket.socket) -> None:
        """The classic loop: every message, every peer, one ``sendall`` each."""
        with self.lock:
            for sock in self.clients:
                if sock is not sender:
                    try:
                        sock.sendall(frame)
                    except OSError:
                        pass
