"""recv_exactly: n bytes whatever the chunks, a clear EOFError at the end of the stream."""

from __future__ import annotations

import socket

import pytest

from chatlab.events import Hello, Welcome
from chatlab.protocol import decode_body, encode

from conftest import TIMEOUT


class ChunkySocket:
    """A pretend socket whose ``recv`` returns the given chunks, then ``b""`` (end of stream)."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.asked: list[int] = []

    def recv(self, size: int) -> bytes:
        self.asked.append(size)
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if len(chunk) > size:  # like a real socket: never more than asked for
            self.chunks.insert(0, chunk[size:])
            chunk = chunk[:size]
        return chunk


def test_joins_chunks_until_it_has_n_bytes(exercise):
    sock = ChunkySocket(b"\x00\x00", b"\x00", b"\x02")
    assert exercise.recv_exactly(sock, 4) == b"\x00\x00\x00\x02"


def test_leaves_the_next_message_for_later(exercise):
    sock = ChunkySocket(b"hi bobhi alice")
    assert exercise.recv_exactly(sock, 6) == b"hi bob"
    assert exercise.recv_exactly(sock, 8) == b"hi alice", "recv_exactly read more than n bytes"


def test_never_reads_past_n_bytes_when_the_first_chunk_is_short(exercise):
    sock = ChunkySocket(b"hi", b" bobhi alice")
    assert exercise.recv_exactly(sock, 6) == b"hi bob"
    assert sock.asked[-1] <= 4, "after 2 of 6 bytes, ask recv() for the 4 missing, not more"
    assert exercise.recv_exactly(sock, 8) == b"hi alice", "the next message must stay in the socket"


def test_end_of_stream_raises_eoferror_saying_how_much_came(exercise):
    sock = ChunkySocket(b"\x00\x00")
    with pytest.raises(EOFError) as caught:
        exercise.recv_exactly(sock, 4)
    message = str(caught.value)
    assert "2" in message and "4" in message, f"say how many bytes came, of how many: got {message!r}"


def test_end_of_stream_before_anything_raises_too(exercise):
    with pytest.raises(EOFError):
        exercise.recv_exactly(ChunkySocket(), 4)


def test_zero_bytes_is_an_empty_bytes(exercise):
    assert exercise.recv_exactly(ChunkySocket(b"alice"), 0) == b""


def test_reads_what_alice_sends_in_pieces_over_a_real_connection(exercise, tcp_pair):
    alice, bob = tcp_pair
    for piece in (b"he", b"llo ", b"b", b"ob"):
        alice.sendall(piece)
    assert exercise.recv_exactly(bob, 9) == b"hello bob"
    alice.close()
    with pytest.raises(EOFError):
        exercise.recv_exactly(bob, 1)


def test_reads_a_welcome_from_a_real_chatlab_server(exercise, chat_server):
    with socket.create_connection(chat_server.address, timeout=TIMEOUT) as sock:
        sock.sendall(encode(Hello("bob")))
        header = exercise.recv_exactly(sock, 4)
        body = exercise.recv_exactly(sock, int.from_bytes(header, "big"))
    assert decode_body(body) == Welcome("bob", ())
