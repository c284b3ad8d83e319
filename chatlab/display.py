"""How events look to a person: one line of plain text each.

Shared by the terminal client and the notebook chat panels, so both show the
same thing. Text from other users is made :func:`visible` first: a peer must
not be able to move our cursor, clear our screen or reverse our text by
sending escape sequences or invisible characters.
"""

from __future__ import annotations

import unicodedata

from .events import Error, Event, Joined, Left, Message, Refused, Shutdown, Welcome

__all__ = ["format_event", "visible"]

# Invisible characters that reorder text ("Trojan Source"); other format
# characters (such as the zero-width joiner inside emoji) are harmless.
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def visible(text: str) -> str:
    r"""Return ``text`` with control characters shown as escapes instead of acted on.

    >>> visible("hi\x1b[2Jthere\n")
    'hi\\x1b[2Jthere\\n'
    >>> visible("café ☕")
    'café ☕'
    """
    if text.isprintable():
        return text
    out = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS:
            out.append(repr(char)[1:-1] if char.isascii() else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def format_event(event: Event) -> str:
    """Return the line a user sees for ``event``.

    >>> format_event(Message("alice", "hi"))
    'alice: hi'
    >>> format_event(Left("bob", "too slow"))
    '*** bob left (too slow)'
    """
    if isinstance(event, Message):
        return f"{visible(event.alias)}: {visible(event.text)}"
    if isinstance(event, Joined):
        return f"*** {visible(event.alias)} joined"
    if isinstance(event, Left):
        why = "" if event.reason == "quit" else f" ({visible(event.reason)})"
        return f"*** {visible(event.alias)} left{why}"
    if isinstance(event, Shutdown):
        why = "" if event.reason == "server shutting down" else f" ({visible(event.reason)})"
        return f"*** server shutting down{why}"
    if isinstance(event, Welcome):
        others = ", ".join(visible(a) for a in event.online) or "nobody else yet"
        return f"*** you joined as {visible(event.alias)}; online: {others}"
    if isinstance(event, Refused):
        return f"*** refused: {visible(event.reason)}"
    if isinstance(event, Error):
        return f"*** error from server: {visible(event.reason)}"
    return f"*** {visible(repr(event))}"
