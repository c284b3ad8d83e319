"""Exercise 04 · frame_decoder: turn chunks of a byte stream back into frames.

Frames (exercise 03) arrive in pieces of any size: half a length prefix, or
three frames and a bit in one ``recv``. A decoder keeps the bytes that came
so far and hands out each frame once all of it is there. It never touches a
socket: the caller feeds it whatever ``recv`` returned ("sans-I/O"), so it can
be tested one byte at a time, and the real chatlab server can use yours.

Write the two methods of ``FrameDecoder``:

* ``feed(data)`` keeps ``data``; ``feed(b"")`` means the stream has ended
  (``recv`` returned ``b""``).
* ``next_frame()`` returns the next complete frame body and removes it from
  the buffer, or returns ``None`` when more bytes are needed. It raises
  ``FrameTooLarge(size, self.max_frame_size)`` as soon as a length prefix
  says more than ``max_frame_size`` (before waiting for the body), and
  ``TruncatedFrame("...")`` when the stream ended in the middle of a frame.

Example, alice's ``b"hi"`` arriving in two pieces::

    decoder = FrameDecoder()
    decoder.feed(b"\\x00\\x00\\x00\\x02h")
    decoder.next_frame()        # -> None: the body is not all here
    decoder.feed(b"i")
    decoder.next_frame()        # -> b"hi"
    decoder.next_frame()        # -> None: nothing left
    decoder.feed(b"")           # the stream ended between frames: fine
    decoder.next_frame()        # -> None

Check it with ``chatlab exercises check frame_decoder``.
"""

from __future__ import annotations

import struct

from chatlab.errors import FrameTooLarge, TruncatedFrame
from chatlab.framing import MAX_FRAME_SIZE

HEADER = struct.Struct("!I")  # the 4-byte length prefix; HEADER.unpack_from(buffer) reads it


class FrameDecoder:
    """Reassembles frames from chunks of a byte stream, whatever their sizes."""

    def __init__(self, max_frame_size: int = MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()  # bytes received and not yet handed out
        self._eof = False  # True once feed(b"") was called

    def feed(self, data: bytes) -> None:
        """Keep ``data``; ``b""`` marks the end of the stream."""
        # TODO: add data to the buffer, or remember that the stream ended.
        raise NotImplementedError("exercise frame_decoder: replace this line with your code")
        # END TODO

    def next_frame(self) -> bytes | None:
        """Return the next complete frame body, or ``None`` if more bytes are needed."""
        # TODO: read the length prefix, check it, and return the body once it is all here.
        raise NotImplementedError("exercise frame_decoder: replace this line with your code")
        # END TODO

    @property
    def at_eof(self) -> bool:
        """True once the stream has ended and every frame has been taken."""
        return self._eof and not self._buffer

    def __iter__(self):
        """Yield every complete frame body buffered so far."""
        while (body := self.next_frame()) is not None:
            yield body
