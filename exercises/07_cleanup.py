"""Exercise 07 · cleanup: one way out for every connection, taken once.

A connection can end in many ways: the client quits (``recv`` returns
``b""``), the network fails, the client is too slow, the server stops. They
happen in different threads, sometimes at the same time: the reader sees EOF
while the server disconnects the same client for being slow. If each way out
does its own cleanup, alice's departure gets announced twice, or not at all.

So every way out calls one method, ``Connection.close(reason)``, and only the
first call does anything. Write it:

1. Under ``self._close_lock``, check and set ``self._closed``: if it was
   already set, return at once (someone else is cleaning up).
2. Call ``self.on_close(self, reason)`` once: the server uses it to remove the
   client from the chat and tell the others ("alice left: too slow").
3. Wake the threads blocked on the socket with
   ``self.sock.shutdown(socket.SHUT_RDWR)``. Not ``close()``: closing a socket
   that another thread is blocked in ``recv`` on does not wake it. Ignore
   ``OSError`` here: the other side may already be gone.

Example::

    conn = Connection(sock, "alice", on_close=lambda conn, reason: print(conn.alias, "left:", reason))
    conn.close("too slow")      # prints "alice left: too slow"; a recv() blocked on sock returns b""
    conn.close("quit")          # does nothing: already closed

Check it with ``chatlab exercises check cleanup``.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable


class Connection:
    """One client's socket and the one method that ends it."""

    def __init__(self, sock: socket.socket, alias: str, on_close: Callable[[Connection, str], object]) -> None:
        self.sock = sock
        self.alias = alias
        self.on_close = on_close
        self._close_lock = threading.Lock()
        self._closed = False

    def close(self, reason: str) -> None:
        """End the connection, once, whoever calls it: tell ``on_close``, wake blocked threads."""
        # TODO: only the first call goes on; then call on_close, then shut the socket down.
        raise NotImplementedError("exercise cleanup: replace this line with your code")
        # END TODO
