"""chatlab: learn network programming by building a multi-client TCP chat.

The public API, by layer:

* sans-I/O protocol: :func:`encode`, :class:`Decoder`, :func:`encode_frame`,
  :class:`FrameDecoder`, the events (:class:`Hello`, :class:`Say`, :class:`Message`, ...)
* the threaded server: :class:`ChatServer`
* the client library: :class:`ChatClient`
* errors: :class:`ChatError` and its subclasses
"""

from .client import ChatClient
from .errors import (
    AliasRefused,
    BadEncoding,
    BadJSON,
    BadMessage,
    ChatError,
    ConnectionClosed,
    FrameTooLarge,
    ProtocolError,
    TruncatedFrame,
)
from .events import (
    CLIENT_EVENTS,
    SERVER_EVENTS,
    Error,
    Event,
    Hello,
    Joined,
    Left,
    Message,
    Refused,
    Say,
    Shutdown,
    Welcome,
)
from .framing import MAX_FRAME_SIZE, FrameDecoder, encode_frame
from .protocol import DEFAULT_HOST, DEFAULT_PORT, Decoder, alias_key, encode, validate_alias
from .server import ChatServer

__version__ = "0.1.0"

__all__ = [
    "AliasRefused",
    "BadEncoding",
    "BadJSON",
    "BadMessage",
    "CLIENT_EVENTS",
    "ChatClient",
    "ChatError",
    "ChatServer",
    "ConnectionClosed",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Decoder",
    "Error",
    "Event",
    "FrameDecoder",
    "FrameTooLarge",
    "Hello",
    "Joined",
    "Left",
    "MAX_FRAME_SIZE",
    "Message",
    "ProtocolError",
    "Refused",
    "SERVER_EVENTS",
    "Say",
    "Shutdown",
    "TruncatedFrame",
    "Welcome",
    "alias_key",
    "encode",
    "encode_frame",
    "validate_alias",
]
