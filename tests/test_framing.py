"""The sans-I/O framing layer, fed bytes the way TCP really delivers them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import chatlab
from chatlab.errors import FrameTooLarge, ProtocolError, TruncatedFrame
from chatlab.framing import HEADER_SIZE, FrameDecoder, encode_frame


def frames_from(chunks: list[bytes], max_frame_size: int = 1 << 16) -> list[bytes]:
    decoder = FrameDecoder(max_frame_size)
    out = []
    for chunk in chunks:
        decoder.feed(chunk)
        out.extend(decoder)
    return out


def test_frame_is_big_endian_length_then_body():
    assert encode_frame(b"hello") == b"\x00\x00\x00\x05hello"


def test_two_frames_in_one_chunk_come_out_separately():
    assert frames_from([encode_frame(b"one") + encode_frame(b"two")]) == [b"one", b"two"]


def test_frame_fed_one_byte_at_a_time():
    wire = encode_frame("héllo wörld".encode())
    assert frames_from([wire[i : i + 1] for i in range(len(wire))]) == ["héllo wörld".encode()]


def test_partial_frame_waits_for_the_rest():
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"abcdef")[:-1])
    assert decoder.next_frame() is None
    decoder.feed(b"f")
    assert decoder.next_frame() == b"abcdef"


def test_empty_body_is_a_frame():
    assert frames_from([encode_frame(b"")]) == [b""]


def test_oversized_length_is_refused_from_the_header_alone():
    decoder = FrameDecoder(max_frame_size=1000)
    decoder.feed(b"\xff\xff\xff\xff")  # 4 GiB announced, nothing else sent
    with pytest.raises(FrameTooLarge, match="4294967295 bytes is over the limit of 1000"):
        decoder.next_frame()
    assert decoder.buffered == HEADER_SIZE  # nothing of the body was waited for or kept


def test_frame_at_the_limit_is_accepted():
    assert frames_from([encode_frame(b"x" * 1000)], max_frame_size=1000) == [b"x" * 1000]


def test_clean_eof_between_frames():
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"last"))
    decoder.feed(b"")
    assert list(decoder) == [b"last"]
    assert decoder.at_eof


@pytest.mark.parametrize(
    "wire, message",
    [
        (b"\x00\x00", "after 2 of 4 bytes of a frame header"),
        (b"\x00\x00\x00\x0ahello", "after 5 of 10 bytes of a frame body"),
        (b"\x00\x00\x00\x0a", "after 0 of 10 bytes of a frame body"),
    ],
)
def test_eof_inside_a_frame_is_an_error(wire, message):
    decoder = FrameDecoder()
    decoder.feed(wire)
    decoder.feed(b"")
    with pytest.raises(TruncatedFrame, match=message):
        decoder.next_frame()


def test_feeding_after_eof_is_a_bug_in_the_caller():
    decoder = FrameDecoder()
    decoder.feed(b"")
    with pytest.raises(ValueError):
        decoder.feed(b"more")


@given(
    bodies=st.lists(st.binary(max_size=300), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_any_split_of_the_stream_gives_back_the_same_frames(bodies, cuts):
    wire = b"".join(encode_frame(body) for body in bodies)
    points = sorted({c % (len(wire) + 1) for c in cuts} | {0, len(wire)})
    chunks = [wire[a:b] for a, b in zip(points, points[1:])]
    decoder = FrameDecoder()
    out = []
    for chunk in chunks:
        if chunk:
            decoder.feed(chunk)
        out.extend(decoder)
    decoder.feed(b"")
    out.extend(decoder)
    assert out == bodies
    assert decoder.at_eof


@given(st.lists(st.binary(max_size=50), max_size=10))
def test_arbitrary_bytes_raise_only_protocol_errors(chunks):
    decoder = chatlab.Decoder(accept=chatlab.CLIENT_EVENTS + chatlab.SERVER_EVENTS, max_frame_size=64)
    try:
        for chunk in [*filter(None, chunks), b""]:  # b"" only once: it means EOF
            decoder.feed(chunk)
            for _event in decoder:
                pass
    except ProtocolError:
        pass


SANS_IO_MODULES = ["errors", "framing", "events", "protocol", "display"]


@pytest.mark.parametrize("module", SANS_IO_MODULES)
def test_protocol_modules_never_import_socket(module):
    source = Path(chatlab.__file__).with_name(f"{module}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & {"socket", "selectors", "asyncio", "threading", "ssl"}
