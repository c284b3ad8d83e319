"""Length-prefixed framing, sans-I/O: bytes in, frames out, no sockets.

TCP delivers a stream of bytes, not messages: two quick sends can arrive in
one ``recv()`` and one long send can arrive in several. A frame puts the
boundaries back. On the wire a frame is::

    +----------------+---------------------------+
    | length: 4 bytes | body: `length` bytes      |
    | big-endian, >=0 |                           |
    +----------------+---------------------------+

Invariants of this module:

* It never imports ``socket``; the caller does all I/O. That is what lets the
  tests feed it one byte at a time and what lets every server engine share it.
* The size limit is checked on the 4-byte prefix, before the body is buffered.
* ``feed(b"")`` means end of stream, as ``recv()`` returning ``b""`` does.
"""

from __future__ import annotations

import struct

from .errors import FrameTooLarge, TruncatedFrame

__all__ = ["HEADER_SIZE", "MAX_FRAME_SIZE", "FrameDecoder", "encode_frame"]

#: Largest frame body accepted by default: 64 KiB.
MAX_FRAME_SIZE = 64 * 1024

_HEADER = struct.Struct("!I")  # network byte order (big-endian), unsigned 32-bit
#: Size of the length prefix in bytes.
HEADER_SIZE = _HEADER.size


def encode_frame(body: bytes) -> bytes:
    """Return ``body`` with its 4-byte length prefix.

    >>> encode_frame(b"hi")
    b'\\x00\\x00\\x00\\x02hi'
    """
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Reassembles frames from chunks of a byte stream, whatever their sizes.

    >>> decoder = FrameDecoder()
    >>> decoder.feed(b"\\x00\\x00\\x00\\x02h")
    >>> decoder.next_frame() is None          # need more data
    True
    >>> decoder.feed(b"i\\x00\\x00")
    >>> decoder.next_frame()
    b'hi'
    >>> decoder.feed(b"")                     # EOF after a partial header
    >>> decoder.next_frame()
    Traceback (most recent call last):
    ...
    chatlab.errors.TruncatedFrame: stream ended after 2 of 4 bytes of a frame header

    ``next_frame()`` returns the next complete body, or ``None`` when it needs
    more bytes (or the stream ended cleanly: see :attr:`at_eof`).
    """

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        self._body_size: int | None = None  # known once the header is in
        self._eof = False

    def feed(self, data: bytes) -> None:
        """Add bytes received from the stream; ``b""`` marks the end of the stream."""
        if self._eof:
            raise ValueError("feed() after end of stream")
        if data:
            self._buffer += data
        else:
            self._eof = True

    @property
    def at_eof(self) -> bool:
        """True once the stream has ended and every complete frame has been taken."""
        return self._eof and not self._buffer

    @property
    def buffered(self) -> int:
        """How many bytes are waiting for the rest of their frame."""
        return len(self._buffer)

    def next_frame(self) -> bytes | None:
        """Return the next complete frame body, or ``None`` if more data is needed.

        Raises :class:`FrameTooLarge` on a length prefix over the limit and
        :class:`TruncatedFrame` if the stream ended inside a frame.
        """
        if self._body_size is None:
            if len(self._buffer) < HEADER_SIZE:
                return self._need_more()
            (size,) = _HEADER.unpack_from(self._buffer)
            if size > self.max_frame_size:
                raise FrameTooLarge(size, self.max_frame_size)
            del self._buffer[:HEADER_SIZE]
            self._body_size = size
        if len(self._buffer) < self._body_size:
            return self._need_more()
        body = bytes(self._buffer[: self._body_size])
        del self._buffer[: self._body_size]
        self._body_size = None
        return body

    def _need_more(self) -> None:
        """Say "need more data", unless the stream has ended inside a frame."""
        if not self._eof:
            return None
        if self._body_size is not None:
            raise TruncatedFrame(
                f"stream ended after {len(self._buffer)} of {self._body_size} bytes of a frame body"
            )
        if self._buffer:
            raise TruncatedFrame(
                f"stream ended after {len(self._buffer)} of {HEADER_SIZE} bytes of a frame header"
            )
        return None

    def __iter__(self):
        """Yield every complete frame body buffered so far."""
        while (body := self.next_frame()) is not None:
            yield body
