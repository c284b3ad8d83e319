"""The messages of the chat, as small immutable classes shared by server and client.

Each event is one JSON object on the wire, told apart by its ``"type"``::

    client -> server                 server -> client
    Hello(alias)    "hello"          Welcome(alias, online)  "welcome"
    Say(text)       "say"            Refused(reason)         "refused"
                                     Message(alias, text)    "message"
                                     Joined(alias)           "joined"
                                     Left(alias, reason)     "left"
                                     Error(reason)           "error"
                                     Shutdown(reason)        "shutdown"

Invariants: every field is a ``str`` (or a tuple of ``str`` for
``Welcome.online``); ``to_dict``/``from_dict`` are exact inverses; the server
never trusts an alias sent by a client, which is why a client says ``Say``
and the server relays ``Message`` with the alias it knows.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from functools import cache
from typing import ClassVar, Union

from .errors import BadMessage

__all__ = [
    "CLIENT_EVENTS",
    "EVENT_TYPES",
    "SERVER_EVENTS",
    "Error",
    "Event",
    "Hello",
    "Joined",
    "Left",
    "Message",
    "Refused",
    "Say",
    "Shutdown",
    "Welcome",
    "from_dict",
    "to_dict",
]

# A lone surrogate can come in through a JSON escape ("\ud800") but cannot be
# encoded back to UTF-8: reject it on the way in, or relaying it would fail.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Hello:
    """Client -> server, first frame: "I would like to be called ``alias``"."""

    TYPE: ClassVar[str] = "hello"
    alias: str


@dataclass(frozen=True, slots=True)
class Welcome:
    """Server -> client: handshake accepted; ``online`` lists the others already here."""

    TYPE: ClassVar[str] = "welcome"
    alias: str
    online: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """Server -> client: handshake refused (alias taken or invalid, server full). Then close."""

    TYPE: ClassVar[str] = "refused"
    reason: str


@dataclass(frozen=True, slots=True)
class Say:
    """Client -> server: a chat line to relay to everyone else."""

    TYPE: ClassVar[str] = "say"
    text: str


@dataclass(frozen=True, slots=True)
class Message:
    """Server -> client: ``alias`` said ``text``."""

    TYPE: ClassVar[str] = "message"
    alias: str
    text: str


@dataclass(frozen=True, slots=True)
class Joined:
    """Server -> client: ``alias`` joined the chat."""

    TYPE: ClassVar[str] = "joined"
    alias: str


@dataclass(frozen=True, slots=True)
class Left:
    """Server -> client: ``alias`` left the chat; ``reason`` says how ("quit", "too slow", ...)."""

    TYPE: ClassVar[str] = "left"
    alias: str
    reason: str = "quit"


@dataclass(frozen=True, slots=True)
class Error:
    """Server -> client: you broke the protocol; the server closes the connection next."""

    TYPE: ClassVar[str] = "error"
    reason: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Server -> client: the server is stopping; the connection closes next."""

    TYPE: ClassVar[str] = "shutdown"
    reason: str = "server shutting down"


Event = Union[Hello, Welcome, Refused, Say, Message, Joined, Left, Error, Shutdown]

#: Events a client may send.
CLIENT_EVENTS: tuple[type, ...] = (Hello, Say)
#: Events a server may send.
SERVER_EVENTS: tuple[type, ...] = (Welcome, Refused, Message, Joined, Left, Error, Shutdown)
#: Every event class by its wire ``"type"``.
EVENT_TYPES: dict[str, type] = {cls.TYPE: cls for cls in CLIENT_EVENTS + SERVER_EVENTS}


@cache
def _fields_of(cls: type) -> tuple:
    """``dataclasses.fields(cls)``, computed once per class: it is on every message's path."""
    return fields(cls)


def to_dict(event: Event) -> dict:
    """Return the JSON object for ``event``, ``"type"`` first.

    >>> to_dict(Message("alice", "hi"))
    {'type': 'message', 'alias': 'alice', 'text': 'hi'}
    """
    data = {"type": event.TYPE}
    for field in _fields_of(type(event)):
        value = getattr(event, field.name)
        data[field.name] = list(value) if isinstance(value, tuple) else value
    return data


def from_dict(data: object, accept: tuple[type, ...] = CLIENT_EVENTS + SERVER_EVENTS) -> Event:
    """Build the event described by a decoded JSON value; raise :class:`BadMessage` if it is not one.

    ``accept`` limits which event classes are allowed (a server accepts only
    :data:`CLIENT_EVENTS`).

    >>> from_dict({"type": "say", "text": "hi"})
    Say(text='hi')
    >>> from_dict({"type": "say"})
    Traceback (most recent call last):
    ...
    chatlab.errors.BadMessage: 'say' message has no 'text' field
    """
    if not isinstance(data, dict):
        raise BadMessage(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise BadMessage("message has no string 'type' field")
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise BadMessage(f"unknown message type {kind!r}")
    if cls not in accept:
        raise BadMessage(f"message type {kind!r} is not allowed in this direction")
    values = {}
    for field in _fields_of(cls):
        if field.name not in data:
            if field.default is not MISSING:  # the field has a default: optional
                continue
            raise BadMessage(f"{kind!r} message has no {field.name!r} field")
        values[field.name] = _check_field(kind, field.name, data[field.name], field.type)
    return cls(**values)


def _check_field(kind: str, name: str, value: object, annotation: str) -> object:
    """Return ``value`` in the form the field wants, or raise :class:`BadMessage`."""
    if annotation.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadMessage(f"{kind!r} field {name!r} must be a list of strings")
        strings = value
        value = tuple(value)
    elif isinstance(value, str):
        strings = [value]
    else:
        raise BadMessage(f"{kind!r} field {name!r} must be a string")
    if any(_SURROGATE.search(s) for s in strings):
        raise BadMessage(f"{kind!r} field {name!r} holds a lone surrogate, which is not text")
    return value
