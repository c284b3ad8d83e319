"""What is waiting to be sent to one client: a bounded queue that one writer empties in one go.

Why: a broadcast must never wait on a slow client. The thread that broadcasts
only appends to each client's outbox (fast, never blocks); each client's own
writer thread sends what is pending. Taking *everything* pending at once and
sending it in one ``sendall`` turns a thousand small messages into one system
call, which is most of what makes a chat server fast.

Invariant: the outbox never holds more than ``limit`` bytes. ``put`` refuses
a frame that would go over it, and the caller disconnects that client: it has
fallen too far behind, and memory must stay bounded whatever a client does.
"""

from __future__ import annotations

import socket
import threading

__all__ = ["Outbox", "write_all"]


class Outbox:
    """A bounded byte queue with one consumer.

    >>> box = Outbox(limit=10)
    >>> box.put(b"abc"), box.put(b"def"), box.put(b"too long")
    (True, True, False)
    >>> box.take()
    b'abcdef'
    >>> box.close()
    >>> box.take() is None          # closed and empty: the writer stops
    True
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frames: list[bytes] = []
        self._size = 0
        self._closed = False
        self._changed = threading.Condition()

    def put(self, frame: bytes) -> bool:
        """Queue ``frame``; return False if it would go over the limit (the client is too slow).

        A frame put after :meth:`close` is dropped silently: the connection is ending anyway.
        """
        with self._changed:
            if self._closed:
                return True
            if self._size + len(frame) > self.limit:
                return False
            self._frames.append(frame)
            self._size += len(frame)
            self._changed.notify()
            return True

    def take(self, timeout: float | None = None) -> bytes | None:
        """Wait for pending bytes and return all of them at once.

        Returns ``None`` once the outbox is closed and empty, or if ``timeout``
        passes with nothing to send.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._frames or self._closed, timeout)
            if not self._frames:
                return None
            data = b"".join(self._frames)
            self._frames.clear()
            self._size = 0
            return data

    def close(self, discard: bool = False) -> None:
        """Accept no more frames; ``take`` returns what is left, then ``None``.

        With ``discard=True`` what is still pending is dropped too.
        """
        with self._changed:
            self._closed = True
            if discard:
                self._frames.clear()
                self._size = 0
            self._changed.notify_all()

    @property
    def pending(self) -> int:
        """Bytes queued and not yet taken by the writer."""
        return self._size


def write_all(sock: socket.socket, outbox: Outbox) -> None:
    """The writer's loop: send everything pending in one call, until the outbox is closed and empty.

    Then shut down our sending side, so the peer reads EOF after the last
    frame. Raises ``OSError`` if the connection fails. (This is exercise
    ``batching_writer``: the server runs this very function.)
    """
    while (data := outbox.take()) is not None:
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
