"""Every error chatlab raises on purpose, in one place.

Invariant: an error that the other side of a connection can cause (bad bytes,
a refused alias) is a subclass of :class:`ChatError`, so a caller can catch
the expected failures without catching programming mistakes.

    ChatError
    ├── ProtocolError          the bytes on the wire break the protocol
    │   ├── FrameTooLarge      a length prefix above the limit
    │   ├── TruncatedFrame     the stream ended in the middle of a frame
    │   ├── BadEncoding        the body is not valid UTF-8
    │   ├── BadJSON            the body is not JSON
    │   └── BadMessage         JSON, but not a message we know
    ├── AliasRefused           the server said no to the handshake
    └── ConnectionClosed       the connection is gone; nothing more can be sent
"""

from __future__ import annotations

__all__ = [
    "AliasRefused",
    "BadEncoding",
    "BadJSON",
    "BadMessage",
    "ChatError",
    "ConnectionClosed",
    "FrameTooLarge",
    "ProtocolError",
    "TruncatedFrame",
]


class ChatError(Exception):
    """Base class of every error chatlab raises on purpose."""


class ProtocolError(ChatError, ValueError):
    """Bytes received from the peer break the wire protocol.

    The message says what was wrong, in words fit to send back to the peer.
    """


class FrameTooLarge(ProtocolError):
    """A length prefix announced a frame larger than the limit.

    Raised as soon as the 4-byte prefix is read, before any of the body is
    buffered, so a peer cannot make us allocate memory by lying about a size.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"frame of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class TruncatedFrame(ProtocolError):
    """The stream ended (EOF) in the middle of a frame."""


class BadEncoding(ProtocolError):
    """A frame body is not valid UTF-8."""


class BadJSON(ProtocolError):
    """A frame body is valid UTF-8 but not JSON."""


class BadMessage(ProtocolError):
    """A frame body is JSON but not a chatlab message.

    Not an object, no ``"type"``, a type we do not know, a missing field or a
    field of the wrong kind.
    """


class AliasRefused(ChatError):
    """The server refused our handshake; ``reason`` says why (taken, invalid, full)."""

    def __init__(self, alias: str, reason: str) -> None:
        super().__init__(f"alias {alias!r} refused: {reason}")
        self.alias = alias
        self.reason = reason


class ConnectionClosed(ChatError):
    """The connection is closed: by us, by the server, or by the network."""
