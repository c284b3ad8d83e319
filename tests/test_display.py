"""What a user sees: one line per event, and nothing a peer sends can act on the terminal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlab import Error, Joined, Left, Message, Refused, Shutdown, Welcome
from chatlab.display import format_event, visible


@pytest.mark.parametrize(
    "event, line",
    [
        (Message("alice", "hi"), "alice: hi"),
        (Joined("bob"), "*** bob joined"),
        (Left("bob", "quit"), "*** bob left"),
        (Left("bob", "too slow"), "*** bob left (too slow)"),
        (Shutdown("server shutting down"), "*** server shutting down"),
        (Shutdown("maintenance"), "*** server shutting down (maintenance)"),
        (Welcome("carol", ("alice", "bob")), "*** you joined as carol; online: alice, bob"),
        (Welcome("alice", ()), "*** you joined as alice; online: nobody else yet"),
        (Refused("alias 'bob' is taken"), "*** refused: alias 'bob' is taken"),
        (Error("frame body is not JSON"), "*** error from server: frame body is not JSON"),
    ],
)
def test_each_event_is_one_readable_line(event, line):
    assert format_event(event) == line


@pytest.mark.parametrize(
    "text, shown",
    [
        ("clear\x1b[2J", "clear\\x1b[2J"),
        ("bell\x07", "bell\\x07"),
        ("two\nlines", "two\\nlines"),
        ("back\rwards", "back\\rwards"),
        ("\u202eevil", "\\u202eevil"),  # right-to-left override
        ("ok 👨‍👩‍👧 ☕ é 李", "ok 👨‍👩‍👧 ☕ é 李"),  # emoji joiners and accents stay
    ],
)
def test_control_characters_are_shown_not_obeyed(text, shown):
    assert visible(text) == shown


@given(st.text())
def test_no_control_character_survives(text):
    line = format_event(Message("mallory", text))
    assert "\n" not in line and "\x1b" not in line and "\r" not in line
    assert all(ord(c) >= 0x20 and c != "\x7f" for c in line)
