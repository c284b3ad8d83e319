"""What the benchmark's clients put on the wire, for chatlab's protocol and for Redis pub/sub.

Every benchmark message has the same size, and carries, as ASCII digits at
fixed places in its text::

    PP SSSSSSSSSS TTTTTTTTTTTTTTTTTTT ......
    |  |          |                   padding up to --size characters
    |  |          send time, ns (time.monotonic_ns, the same clock in every process)
    |  sequence number, per publisher, from 1
    publisher number

So every frame a subscriber receives has the same length, and the numbers
sit at the same offsets in each: numpy reads thousands of them from one
``recv()`` without a Python loop, which keeps the load generator from being
the bottleneck. Anything else (a ``joined`` notice) is skipped one frame at a time.
"""

from __future__ import annotations

import struct

import numpy as np

from ..events import Hello, Message, Say, Welcome
from ..protocol import decode_body, encode

PUB_DIGITS, SEQ_DIGITS, TIME_DIGITS = 2, 10, 19
HEAD = PUB_DIGITS + SEQ_DIGITS + TIME_DIGITS
MIN_SIZE = HEAD + 1
MAX_PUBLISHERS = 10**PUB_DIGITS

_POW10 = {n: 10 ** np.arange(n - 1, -1, -1, dtype=np.int64) for n in (PUB_DIGITS, SEQ_DIGITS, TIME_DIGITS)}


def message_text(publisher: int, seq: int, sent_ns: int, size: int) -> str:
    """The text of one benchmark message: exactly ``size`` ASCII characters.

    >>> message_text(1, 42, 7, 40)
    '0100000000420000000000000000007.........'
    """
    head = f"{publisher:0{PUB_DIGITS}d}{seq:0{SEQ_DIGITS}d}{sent_ns:0{TIME_DIGITS}d}"
    return head + "." * (size - len(head))


def publisher_alias(publisher: int) -> str:
    return f"p{publisher:0{PUB_DIGITS}d}"


def subscriber_alias(number: int) -> str:
    return f"s{number:05d}"


class Wire:
    """How one kind of server is spoken to: join, publish, and recognise a delivered message."""

    name = ""

    def __init__(self, size: int) -> None:
        if size < MIN_SIZE:
            raise ValueError(f"--size must be at least {MIN_SIZE} bytes (the message carries {HEAD} digits)")
        self.size = size
        sample = [self.delivered(p, message_text(p, 0, 0, size)) for p in (0, 1)]
        self.frame_size = len(sample[0])
        self.text_offset = sample[0].index(message_text(0, 0, 0, size).encode())
        # The bytes before the text identify a delivered message, but for the publisher's alias.
        prefix = [np.frombuffer(s[: self.text_offset], dtype=np.uint8) for s in sample]
        self.signature = prefix[0]
        self.signature_mask = prefix[0] == prefix[1]
        #: The bytes every delivered message starts with: a cheap first test, without numpy.
        same = len(self.signature_mask) if self.signature_mask.all() else int(np.argmin(self.signature_mask))
        self.head = sample[0][:same]

    def join(self, sock, name: str) -> None:
        """Make ``sock`` a subscriber or publisher called ``name``; blocks until the server agrees.

        Reads exactly the server's reply, so every later byte is left for the subscriber's loop.
        """
        self.start_join(sock, name)
        self.finish_join(sock, name)

    def start_join(self, sock, name: str) -> None:
        """Send the request to join."""
        raise NotImplementedError

    def finish_join(self, sock, name: str) -> None:
        """Read the server's answer to :meth:`start_join`; raise ``ConnectionError`` if it says no."""
        raise NotImplementedError

    def publish(self, texts: list[str]) -> bytes:
        """The bytes that publish ``texts``, in order."""
        raise NotImplementedError

    def delivered(self, publisher: int, text: str) -> bytes:
        """The bytes a subscriber receives for ``text``."""
        raise NotImplementedError

    def skip(self, buffer: bytes | bytearray, pos: int) -> int | None:
        """Position after the frame at ``pos`` that is not a benchmark message; None if incomplete."""
        raise ValueError(f"{self.name}: unexpected bytes {bytes(buffer[pos : pos + 40])!r}")

    def parse(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(publisher, seq, sent_ns)`` columns of an ``(n, frame_size)`` array of messages."""
        digits = frames[:, self.text_offset : self.text_offset + HEAD].astype(np.int64) - 48
        pub = digits[:, :PUB_DIGITS] @ _POW10[PUB_DIGITS]
        seq = digits[:, PUB_DIGITS : PUB_DIGITS + SEQ_DIGITS] @ _POW10[SEQ_DIGITS]
        sent = digits[:, PUB_DIGITS + SEQ_DIGITS :] @ _POW10[TIME_DIGITS]
        return pub, seq, sent

    def is_message(self, frames: np.ndarray) -> np.ndarray:
        """One boolean per row: does it look like a benchmark message?"""
        head = frames[:, : self.text_offset][:, self.signature_mask]
        return (head == self.signature[self.signature_mask]).all(axis=1)


class ChatlabWire(Wire):
    """chatlab's framed JSON: subscribers and publishers are all members of one chat."""

    name = "chatlab"

    def start_join(self, sock, name: str) -> None:
        sock.sendall(encode(Hello(name)))

    def finish_join(self, sock, name: str) -> None:
        # Read exactly the reply frame, so that nothing after it is taken from the stream.
        (length,) = struct.unpack("!I", _recv_exactly(sock, 4))
        event = decode_body(_recv_exactly(sock, length))
        if not isinstance(event, Welcome):
            raise ConnectionError(f"{name}: server said {event!r}")

    def publish(self, texts: list[str]) -> bytes:
        return b"".join(encode(Say(text)) for text in texts)

    def delivered(self, publisher: int, text: str) -> bytes:
        return encode(Message(publisher_alias(publisher), text))

    def skip(self, buffer, pos):
        if len(buffer) - pos < 4:
            return None
        (length,) = struct.unpack_from("!I", buffer, pos)
        end = pos + 4 + length
        return end if end <= len(buffer) else None


class RedisWire(Wire):
    """Redis pub/sub in RESP: subscribers SUBSCRIBE to one channel, publishers PUBLISH to it."""

    name = "redis"
    CHANNEL = b"chat"

    def start_join(self, sock, name: str) -> None:
        if name.startswith("s"):  # a subscriber; a publisher needs no handshake
            sock.sendall(_resp(b"SUBSCRIBE", self.CHANNEL))

    def finish_join(self, sock, name: str) -> None:
        if not name.startswith("s"):
            return
        expected = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nchat\r\n:1\r\n"
        data = _recv_exactly(sock, len(expected))
        if data != expected:
            raise ConnectionError(f"{name}: unexpected reply to SUBSCRIBE: {data!r}")

    def skip(self, buffer, pos):
        if len(buffer) - pos < self.frame_size:
            return None  # the start of a message: wait for the rest
        return super().skip(buffer, pos)

    def publish(self, texts: list[str]) -> bytes:
        return b"".join(_resp(b"PUBLISH", self.CHANNEL, text.encode()) for text in texts)

    def delivered(self, publisher: int, text: str) -> bytes:
        return _resp(b"message", self.CHANNEL, text.encode())


def _recv_exactly(sock, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection during the handshake")
        data += chunk
    return data


def _resp(*parts: bytes) -> bytes:
    """A RESP array of bulk strings, as Redis commands and pub/sub messages are sent."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


WIRES = {"chatlab": ChatlabWire, "redis": RedisWire}
