"""batching_writer: all pending frames in one sendall; your outbox and writer inside a real server."""

from __future__ import annotations

import socket
import threading

import chatlab.connection
from chatlab import ChatClient, ChatServer, Message

from conftest import TIMEOUT


class RecordingSocket:
    """A pretend socket that records each sendall() and shutdown()."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.shut: list[int] = []

    def sendall(self, data: bytes) -> None:
        self.sent.append(bytes(data))

    def send(self, data: bytes) -> int:
        raise AssertionError("use sendall(): one call per batch")

    def shutdown(self, how: int) -> None:
        self.shut.append(how)


def test_take_returns_everything_pending_at_once(exercise):
    outbox = exercise.Outbox(limit=1024)
    outbox.put(b"hi bob")
    outbox.put(b"hi alice")
    assert outbox.take() == b"hi bobhi alice"
    assert outbox.pending == 0, "take() must empty the outbox (and reset its size)"


def test_take_gives_up_after_the_timeout(exercise):
    assert exercise.Outbox(limit=1024).take(timeout=0.05) is None


def test_take_after_close_returns_what_is_left_then_none(exercise):
    outbox = exercise.Outbox(limit=1024)
    outbox.put(b"bye")
    outbox.close()
    assert outbox.take() == b"bye"
    assert outbox.take() is None, "closed and empty: take() returns None at once"


def test_take_waits_for_a_put_from_another_thread(exercise):
    outbox = exercise.Outbox(limit=1024)
    got = []
    taker = threading.Thread(target=lambda: got.append(outbox.take(TIMEOUT)), daemon=True)
    taker.start()
    outbox.put(b"hi bob")
    taker.join(TIMEOUT)
    assert got == [b"hi bob"]


def test_the_room_comes_back_after_a_take(exercise):
    outbox = exercise.Outbox(limit=10)
    assert outbox.put(b"x" * 10)
    assert not outbox.put(b"y"), "the outbox is full"
    outbox.take()
    assert outbox.put(b"y" * 10), "after take() the outbox is empty again: reset self._size"


def test_a_hundred_pending_frames_go_out_in_one_sendall(exercise):
    outbox = exercise.Outbox(limit=1 << 20)
    frames = [f"message {n} from alice".encode() for n in range(100)]
    for frame in frames:
        outbox.put(frame)
    outbox.close()
    sock = RecordingSocket()
    exercise.write_all(sock, outbox)
    assert sock.sent == [b"".join(frames)], f"expected one sendall() with all 100 frames, got {len(sock.sent)} calls"
    assert sock.shut == [socket.SHUT_WR], "finish with sock.shutdown(socket.SHUT_WR)"


def test_the_writer_sends_batches_until_the_outbox_closes(exercise):
    outbox = exercise.Outbox(limit=1 << 20)
    sock = RecordingSocket()
    writer = threading.Thread(target=exercise.write_all, args=(sock, outbox), daemon=True)
    writer.start()
    outbox.put(b"hi ")
    outbox.put(b"bob")
    outbox.close()
    writer.join(TIMEOUT)
    assert not writer.is_alive(), "write_all() must return once take() returns None"
    assert b"".join(sock.sent) == b"hi bob"
    assert sock.shut == [socket.SHUT_WR]


def test_a_real_server_writes_with_your_outbox_and_writer(exercise, monkeypatch):
    # The real server's connections use chatlab.connection.Outbox and write_all: make them yours.
    monkeypatch.setattr(chatlab.connection, "Outbox", exercise.Outbox)
    monkeypatch.setattr(chatlab.connection, "write_all", exercise.write_all)
    with ChatServer("127.0.0.1", 0, handshake_timeout=TIMEOUT) as server:
        with (
            ChatClient.connect(*server.address, "alice", timeout=TIMEOUT) as alice,
            ChatClient.connect(*server.address, "bob", timeout=TIMEOUT) as bob,
        ):
            texts = [f"message {n}" for n in range(300)]
            for text in texts:
                alice.say(text)
            assert [bob.receive(TIMEOUT) for _ in texts] == [Message("alice", t) for t in texts]
