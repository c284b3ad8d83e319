"""frame_decoder: frames from chunks of any size; your decoder inside a real server and clients."""

from __future__ import annotations

import pytest

import chatlab.protocol
from chatlab import ChatClient, Message
from chatlab.errors import FrameTooLarge, TruncatedFrame
from chatlab.framing import encode_frame

from conftest import TIMEOUT

FRAMES = [b"hi bob", b"", b"hi alice", b"x" * 1000]
WIRE = b"".join(encode_frame(body) for body in FRAMES)


def test_one_whole_frame(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x02hi")
    assert decoder.next_frame() == b"hi"
    assert decoder.next_frame() is None, "after the only frame, next_frame() should say None"


def test_half_a_header_is_not_a_frame(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(b"\x00\x00")
    assert decoder.next_frame() is None
    decoder.feed(b"\x00\x02h")
    assert decoder.next_frame() is None, "the header says 2 bytes of body, only 1 is here"
    decoder.feed(b"i")
    assert decoder.next_frame() == b"hi"


def test_fed_one_byte_at_a_time(exercise):
    decoder = exercise.FrameDecoder()
    frames = []
    for i in range(len(WIRE)):
        decoder.feed(WIRE[i : i + 1])
        while (frame := decoder.next_frame()) is not None:
            frames.append(frame)
    assert frames == FRAMES


def test_several_frames_in_one_chunk(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(WIRE)
    assert [decoder.next_frame() for _ in FRAMES] == FRAMES
    assert decoder.next_frame() is None


def test_an_empty_body_is_a_frame(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x00")
    assert decoder.next_frame() == b"", "a zero length is a frame with an empty body, not 'need more'"


def test_too_large_is_refused_as_soon_as_the_header_is_in(exercise):
    decoder = exercise.FrameDecoder(max_frame_size=100)
    decoder.feed((101).to_bytes(4, "big"))  # no body at all yet
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()


def test_the_limit_itself_is_allowed(exercise):
    decoder = exercise.FrameDecoder(max_frame_size=100)
    decoder.feed(encode_frame(b"a" * 100))
    assert decoder.next_frame() == b"a" * 100


def test_end_of_stream_between_frames_is_clean(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(encode_frame(b"bye"))
    decoder.feed(b"")
    assert decoder.next_frame() == b"bye", "frames that arrived before the end are still delivered"
    assert decoder.next_frame() is None
    assert decoder.at_eof


def test_end_of_stream_inside_a_header_is_truncated(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(b"\x00\x00")
    decoder.feed(b"")
    with pytest.raises(TruncatedFrame):
        decoder.next_frame()


def test_end_of_stream_inside_a_body_is_truncated(exercise):
    decoder = exercise.FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x05hel")
    decoder.feed(b"")
    with pytest.raises(TruncatedFrame):
        decoder.next_frame()


def test_a_real_server_and_real_clients_decode_with_your_decoder(exercise, monkeypatch):
    # Every chatlab Decoder made from now on (server and clients) uses your FrameDecoder.
    monkeypatch.setattr(chatlab.protocol, "FrameDecoder", exercise.FrameDecoder)
    with chatlab.ChatServer("127.0.0.1", 0, handshake_timeout=TIMEOUT) as server:
        with ChatClient.connect(*server.address, "alice", timeout=TIMEOUT) as alice:
            with ChatClient.connect(*server.address, "bob", timeout=TIMEOUT) as bob:
                assert bob.online == ("alice",)
                for text in ("hi bob", "how are you?", "é" * 500):
                    alice.say(text)
                assert alice.receive(TIMEOUT).alias == "bob"  # Joined("bob")
                received = [bob.receive(TIMEOUT) for _ in range(3)]
                assert received == [
                    Message("alice", "hi bob"),
                    Message("alice", "how are you?"),
                    Message("alice", "é" * 500),
                ]
