"""Exercise 08 · batching_writer: send everything pending in one call.

A broadcast must never wait for a slow client, so the server does not send to
clients itself: it puts each frame in the client's ``Outbox`` (fast, never
blocks), and each client has a writer thread that sends what is waiting. While
the writer is busy in one ``sendall``, more frames pile up. Taking *all* of
them at once and sending them in *one* ``sendall`` turns a thousand small
messages into one system call: that is most of what makes a chat server fast.

Write two things:

* ``Outbox.take(timeout=None)``: wait (on the condition ``self._changed``)
  until there are frames or the outbox is closed; return all pending frames
  joined into one ``bytes`` and empty the outbox (``self._frames`` and
  ``self._size``). Return ``None`` if there is nothing to send: the outbox is
  closed and empty, or ``timeout`` seconds passed.
* ``write_all(sock, outbox)``: the writer thread. Until ``take()`` returns
  ``None``, send what it returns with one ``sock.sendall``; then call
  ``sock.shutdown(socket.SHUT_WR)``, so the client sees the end of the stream.

Example::

    outbox = Outbox(limit=1024)
    outbox.put(b"hi bob")
    outbox.put(b"hi alice")
    outbox.take()          # -> b"hi bobhi alice"
    outbox.take(0.1)       # -> None after 0.1 s: nothing pending
    outbox.close()
    outbox.take()          # -> None at once: closed and empty

Your outbox and writer are plugged into a real chatlab server by the tests.
Check it with ``chatlab exercises check batching_writer``.
"""

from __future__ import annotations

import socket
import threading


class Outbox:
    """A bounded queue of frames for one client, emptied all at once by its writer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: list[bytes] = []
        self._size = 0  # bytes in self._frames
        self._closed = False
        self._changed = threading.Condition()  # notified on every put and on close

    def put(self, frame: bytes) -> bool:
        """Queue ``frame``; False if it would go over the limit (the client is too slow)."""
        with self._changed:
            if self._closed:
                return True  # the connection is ending: drop it
            if self._size + len(frame) > self.limit:
                return False
            self._frames.append(frame)
            self._size += len(frame)
            self._changed.notify()
            return True

    def take(self, timeout: float | None = None) -> bytes | None:
        """Wait for pending frames and return all of them as one ``bytes``; None if there are none."""
        # TODO: wait on self._changed for frames or close, then take every pending frame at once.
        with self._changed:
            self._changed.wait_for(lambda: self._frames or self._closed, timeout)
            if not self._frames:
                return None
            data = b"".join(self._frames)
            self._frames.clear()
            self._size = 0
            return data
        # END TODO

    def close(self, discard: bool = False) -> None:
        """Accept no more frames; ``take`` returns what is left, then None. ``discard`` drops what is left."""
        with self._changed:
            self._closed = True
            if discard:
                self._frames.clear()
                self._size = 0
            self._changed.notify_all()

    @property
    def pending(self) -> int:
        """Bytes queued and not yet taken."""
        return self._size


def write_all(sock: socket.socket, outbox: Outbox) -> None:
    """The writer thread: send each batch from ``outbox`` in one ``sendall``, then shut down sending."""
    # TODO: sendall whatever take() returns until it returns None; then shutdown(socket.SHUT_WR).
    while (data := outbox.take()) is not None:
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    # END TODO
