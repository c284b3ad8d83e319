"""Events to bytes and back, and every way a frame body can be wrong."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlab import (
    CLIENT_EVENTS,
    SERVER_EVENTS,
    BadEncoding,
    BadJSON,
    BadMessage,
    FrameTooLarge,
    ProtocolError,
    Decoder,
    Hello,
    Message,
    Say,
    Welcome,
    alias_key,
    encode,
    encode_frame,
    validate_alias,
)
from chatlab.protocol import decode_body

ALL_EVENTS = CLIENT_EVENTS + SERVER_EVENTS
text = st.text()  # any unicode except lone surrogates (hypothesis never makes those by default)


def event_strategy(cls):
    kwargs = {}
    for field in dataclasses.fields(cls):
        kwargs[field.name] = st.tuples(text, text).map(tuple) if field.type.startswith("tuple") else text
    return st.builds(cls, **kwargs)


@given(st.one_of([event_strategy(cls) for cls in ALL_EVENTS]))
def test_every_event_survives_the_wire(event):
    decoder = Decoder(accept=ALL_EVENTS)
    decoder.feed(encode(event))
    assert list(decoder) == [event]


def test_wire_bytes_are_compact_json_with_type_first():
    assert encode(Message("alice", "hé")) == b'\x00\x00\x00\x2f{"type":"message","alias":"alice","text":"h\xc3\xa9"}'


def test_welcome_online_is_a_json_list():
    assert encode(Welcome("bob", ("alice",))).endswith(b'"online":["alice"]}')


@pytest.mark.parametrize(
    "body, error, message",
    [
        (b"\xff\xfe", BadEncoding, "not valid UTF-8"),
        (b"{not json", BadJSON, "not JSON"),
        (b"[" * 100_000, BadJSON, "nested too deeply|not JSON"),
        (b'"just a string"', BadMessage, "expected a JSON object, got str"),
        (b'{"text": "hi"}', BadMessage, "no string 'type'"),
        (b'{"type": "dance"}', BadMessage, "unknown message type 'dance'"),
        (b'{"type": "say"}', BadMessage, "no 'text' field"),
        (b'{"type": "say", "text": 42}', BadMessage, "must be a string"),
        (b'{"type": "say", "text": "\\ud800"}', BadMessage, "lone surrogate"),
    ],
)
def test_malformed_body_raises_a_typed_error_that_says_what_is_wrong(body, error, message):
    with pytest.raises(error, match=message):
        decode_body(body, CLIENT_EVENTS)


def test_server_refuses_a_message_that_claims_an_alias():
    decoder = Decoder(accept=CLIENT_EVENTS)
    decoder.feed(encode(Message("bob", "I am bob, trust me")))
    with pytest.raises(BadMessage, match="not allowed in this direction"):
        decoder.next_event()


def test_decoder_keeps_the_rest_of_a_chunk_for_later():
    decoder = Decoder(accept=CLIENT_EVENTS)
    wire = encode(Hello("alice")) + encode(Say("hi"))[:5]
    decoder.feed(wire)
    assert decoder.next_event() == Hello("alice")
    assert decoder.next_event() is None


def test_decoder_frame_limit_applies():
    decoder = Decoder(accept=CLIENT_EVENTS, max_frame_size=10)
    decoder.feed(encode_frame(b"x" * 11))
    with pytest.raises(FrameTooLarge):
        decoder.next_event()


@pytest.mark.parametrize("alias", ["alice", "Bob", "carol_99", "李雷", "émile", "a" * 32, "mary jane"])
def test_valid_aliases(alias):
    assert validate_alias(alias) == alias


@pytest.mark.parametrize(
    "alias, reason",
    [
        ("", "empty"),
        ("   ", "only spaces"),
        ("a" * 33, "at most 32"),
        (" alice", "start or end with a space"),
        ("alice\n", "start or end with a space"),
        ("ali\x1bce", "control character"),
        ("ali\u202ece", "invisible formatting"),
        (42, "must be a string"),
    ],
)
def test_invalid_aliases_say_why(alias, reason):
    with pytest.raises(ValueError, match=reason):
        validate_alias(alias)


def test_aliases_clash_whatever_their_case_or_width():
    assert alias_key("Alice") == alias_key("ALICE") == alias_key("ａｌｉｃｅ") == alias_key("alice")
    assert alias_key("alice") != alias_key("alicia")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(cls.TYPE for cls in ALL_EVENTS) + ["nope"])},
    optional={name: json_values for name in ("alias", "text", "reason", "online")},
)


@given(st.binary(max_size=200))
def test_any_frame_body_decodes_or_raises_a_protocol_error(body):
    try:
        decode_body(body, ALL_EVENTS)
    except ProtocolError:
        pass


@given(message_like)
def test_message_shaped_json_decodes_to_a_valid_event_or_raises_bad_message(data):
    import json

    try:
        event = decode_body(json.dumps(data).encode(), ALL_EVENTS)
    except BadMessage:
        return
    assert type(event).TYPE == data["type"]
    assert decode_body(encode(event)[4:], ALL_EVENTS) == event  # whatever got in can go out again
