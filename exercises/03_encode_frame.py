"""Exercise 03 · encode_frame: put a length in front of every message.

TCP carries a stream of bytes, not messages: alice's ``b"hi"`` and
``b"bob"`` may reach bob as ``b"hibob"``. chatlab puts the boundaries back
by sending each message as a *frame*: a 4-byte length, then the body::

    +-------------------------------+------------------+
    | length of the body: 4 bytes,  | the body itself  |
    | big-endian (network order)    |                  |
    +-------------------------------+------------------+

Write ``encode_frame(body)``: return the frame that carries ``body``::

    encode_frame(b"hi")   ->  b'\\x00\\x00\\x00\\x02hi'
    encode_frame(b"")     ->  b'\\x00\\x00\\x00\\x00'

Check it with ``chatlab exercises check encode_frame``.
"""

from __future__ import annotations

import struct


def encode_frame(body: bytes) -> bytes:
    """Return ``body`` with its length in front, as 4 bytes in network (big-endian) order."""
    # TODO: pack len(body) into 4 big-endian bytes and put them before body.
    raise NotImplementedError("exercise encode_frame: replace this line with your code")
    # END TODO
