"""The chatlab wire protocol, sans-I/O: events to bytes and bytes to events.

A message on the wire is one frame (see :mod:`chatlab.framing`) whose body is
a UTF-8 JSON object with a ``"type"`` (see :mod:`chatlab.events`). The full
description, with byte-level examples, is ``docs/protocol.md``.

Invariants: no socket here; every malformed input raises a subclass of
:class:`~chatlab.errors.ProtocolError` and nothing else; after such an error
the stream cannot be trusted, so the connection must be closed.
"""

from __future__ import annotations

import json
import unicodedata

from .errors import BadEncoding, BadJSON
from .events import CLIENT_EVENTS, SERVER_EVENTS, Event, from_dict, to_dict
from .framing import MAX_FRAME_SIZE, FrameDecoder, encode_frame

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_ALIAS_LENGTH",
    "Decoder",
    "alias_key",
    "decode_body",
    "encode",
    "validate_alias",
]

# One encoder for every message: json.dumps() with options builds a new one per call.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5500
MAX_ALIAS_LENGTH = 32


def encode(event: Event) -> bytes:
    """Return the frame that carries ``event``: length prefix, then compact UTF-8 JSON.

    >>> from chatlab.events import Say
    >>> encode(Say("hi"))
    b'\\x00\\x00\\x00\\x1a{"type":"say","text":"hi"}'
    """
    return encode_frame(_to_json(to_dict(event)).encode("utf-8"))


def decode_body(body: bytes, accept: tuple[type, ...] = CLIENT_EVENTS + SERVER_EVENTS) -> Event:
    """Turn one frame body into an event, or raise a :class:`~chatlab.errors.ProtocolError`.

    >>> decode_body(b'{"type":"joined","alias":"bob"}')
    Joined(alias='bob')
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEncoding(f"frame body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadJSON(f"frame body is not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # "[[[[..." nested deeper than the parser's stack
        raise BadJSON("frame body is not JSON: nested too deeply") from None
    return from_dict(data, accept)


class Decoder:
    """Turns a byte stream into events: framing and JSON in one object.

    ``accept`` is the events this side expects: a server passes
    ``CLIENT_EVENTS`` (the default is :data:`SERVER_EVENTS`, a client's view).

    >>> from chatlab.events import Say
    >>> decoder = Decoder(accept=CLIENT_EVENTS)
    >>> wire = encode(Say("one")) + encode(Say("two"))
    >>> decoder.feed(wire[:7])            # any split works
    >>> list(decoder)
    []
    >>> decoder.feed(wire[7:])
    >>> list(decoder)
    [Say(text='one'), Say(text='two')]
    """

    def __init__(
        self,
        accept: tuple[type, ...] = SERVER_EVENTS,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        self.accept = accept
        # Looked up in this module at each call, so that exercise frame_decoder can
        # put a learner's FrameDecoder under a real server and real clients.
        self._frames = FrameDecoder(max_frame_size)

    def feed(self, data: bytes) -> None:
        """Add bytes from the stream; ``b""`` marks its end (EOF)."""
        self._frames.feed(data)

    def next_event(self) -> Event | None:
        """Return the next complete event, or ``None`` if more data is needed."""
        body = self._frames.next_frame()
        return None if body is None else decode_body(body, self.accept)

    @property
    def at_eof(self) -> bool:
        """True once the stream ended and every event has been taken."""
        return self._frames.at_eof

    def __iter__(self):
        """Yield every complete event buffered so far (raises on malformed input)."""
        while (event := self.next_event()) is not None:
            yield event


_FORBIDDEN_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a lone surrogate",
    "Cn": "an unassigned character",
}


def validate_alias(alias: object) -> str:
    """Return ``alias`` if it is a valid alias, else raise ``ValueError`` saying why.

    Valid: a string of 1 to 32 characters, not only spaces, no leading or
    trailing space, no control or invisible characters.

    >>> validate_alias("alice")
    'alice'
    >>> validate_alias("ali\\x1bce")
    Traceback (most recent call last):
    ...
    ValueError: alias must not contain a control character (U+001B)
    """
    if not isinstance(alias, str):
        raise ValueError("alias must be a string")
    if not alias.strip():
        raise ValueError("alias must not be empty or only spaces")
    if len(alias) > MAX_ALIAS_LENGTH:
        raise ValueError(f"alias must be at most {MAX_ALIAS_LENGTH} characters")
    if alias != alias.strip():
        raise ValueError("alias must not start or end with a space")
    for char in alias:
        what = _FORBIDDEN_CATEGORIES.get(unicodedata.category(char))
        if what:
            raise ValueError(f"alias must not contain {what} (U+{ord(char):04X})")
    return alias


def alias_key(alias: str) -> str:
    """Return the form under which aliases are compared: ``Alice``, ``ALICE`` and ``ａｌｉｃｅ`` clash.

    >>> alias_key("ＡＬＩＣＥ") == alias_key("alice")
    True
    """
    return unicodedata.normalize("NFKC", alias).casefold()
