"""encode_frame: a 4-byte big-endian length, then the body; real servers understand it."""

from __future__ import annotations

import socket

from chatlab import ChatClient, Message
from chatlab.framing import FrameDecoder
from chatlab.protocol import decode_body

from conftest import TIMEOUT


def test_puts_the_length_first(exercise):
    assert exercise.encode_frame(b"hi") == b"\x00\x00\x00\x02hi"


def test_an_empty_body_is_just_a_zero_length(exercise):
    assert exercise.encode_frame(b"") == b"\x00\x00\x00\x00"


def test_the_length_is_big_endian(exercise):
    body = b"alice" * 100  # 500 bytes = 0x01F4
    frame = exercise.encode_frame(body)
    assert frame[:4] == b"\x00\x00\x01\xf4", f"500 is 00 00 01 f4 in network order, not {frame[:4].hex(' ')}"
    assert frame[4:] == body


def test_chatlabs_own_decoder_reads_the_frames_back(exercise):
    decoder = FrameDecoder()
    decoder.feed(exercise.encode_frame(b"hi bob") + exercise.encode_frame(b"hi alice"))
    assert list(decoder) == [b"hi bob", b"hi alice"]


def test_alice_speaks_to_a_real_server_in_frames_you_encoded(exercise, chat_server):
    with ChatClient.connect(*chat_server.address, "bob", timeout=TIMEOUT) as bob:
        with socket.create_connection(chat_server.address, timeout=TIMEOUT) as alice:
            alice.sendall(exercise.encode_frame(b'{"type":"hello","alias":"alice"}'))
            alice.sendall(exercise.encode_frame(b'{"type":"say","text":"hi bob"}'))
            assert bob.receive(TIMEOUT).alias == "alice"  # Joined("alice")
            assert bob.receive(TIMEOUT) == Message("alice", "hi bob")
            decoder = FrameDecoder()
            while (body := decoder.next_frame()) is None:
                decoder.feed(alice.recv(65536))
            assert decode_body(body).TYPE == "welcome"
