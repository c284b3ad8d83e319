"""send_all: every byte goes out, in order, through send(), over a real connection too."""

from __future__ import annotations

import threading

from chatlab.events import Hello, Welcome
from chatlab.protocol import Decoder, encode

from conftest import TIMEOUT


class StingySocket:
    """A pretend socket whose ``send`` takes at most ``most`` bytes; it records what it got."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.received = bytearray()
        self.calls = 0

    def send(self, data) -> int:
        self.calls += 1
        taken = bytes(data[: self.most])
        self.received += taken
        return len(taken)

    def sendall(self, data) -> None:
        raise AssertionError("send_all must call send(), not sendall(): writing that loop is the exercise")


def test_sends_everything_when_send_takes_a_few_bytes_at_a_time(exercise):
    sock = StingySocket(most=3)
    result = exercise.send_all(sock, b"hello bob, this is alice")
    assert bytes(sock.received) == b"hello bob, this is alice", "some bytes were lost or sent twice"
    assert result is None, "send_all returns None, like sendall"


def test_sends_one_byte_at_a_time(exercise):
    sock = StingySocket(most=1)
    exercise.send_all(sock, b"alice")
    assert bytes(sock.received) == b"alice"
    assert sock.calls == 5, f"5 bytes one at a time need 5 calls to send(), not {sock.calls}"


def test_stops_once_everything_is_sent(exercise):
    sock = StingySocket(most=100)
    exercise.send_all(sock, b"hi bob")
    assert sock.calls == 1, f"send() took all 6 bytes at once, yet was called {sock.calls} times"


def test_a_megabyte_crosses_a_real_connection(exercise, tcp_pair):
    alice, bob = tcp_pair
    data = bytes(range(256)) * 4096  # 1 MiB: more than one send() takes at once
    received = bytearray()

    def read_all():
        while chunk := bob.recv(65536):
            received.extend(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    exercise.send_all(alice, data)
    alice.shutdown(2)  # SHUT_RDWR: bob sees the end of the stream
    reader.join(TIMEOUT)
    assert not reader.is_alive(), "bob is still waiting for the end of the data"
    assert len(received) == len(data), f"bob got {len(received)} of {len(data)} bytes"
    assert received == data, "bob got the bytes in a different order"


def test_a_real_chatlab_server_welcomes_alice(exercise, chat_server):
    import socket

    with socket.create_connection(chat_server.address, timeout=TIMEOUT) as sock:
        exercise.send_all(sock, encode(Hello("alice")))
        decoder = Decoder()
        while (event := decoder.next_event()) is None:
            decoder.feed(sock.recv(65536))
    assert event == Welcome("alice", ()), f"the server answered {event!r}"
