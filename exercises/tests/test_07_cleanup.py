"""cleanup: close() runs once whoever calls it, and wakes a reader blocked on a real socket."""

from __future__ import annotations

import socket
import sys
import threading

import pytest

from conftest import TIMEOUT


class Departures(list):
    """An ``on_close`` that records ``(alias, reason)`` for each call."""

    def __call__(self, conn, reason: str) -> None:
        self.append((conn.alias, reason))


def test_close_tells_on_close_and_the_peer_sees_the_end(exercise, tcp_pair):
    server_side, client_side = tcp_pair
    departures = Departures()
    conn = exercise.Connection(server_side, "alice", departures)
    conn.close("quit")
    assert departures == [("alice", "quit")]
    assert server_side.fileno() != -1, (
        "close() closed the socket: shut it down instead; the thread reading it closes it once woken"
    )
    assert client_side.recv(1) == b"", "alice's side should see the end of the stream"
    assert server_side.recv(1) == b"", "after shutdown(SHUT_RDWR), recv() on our side returns b'' at once"


def test_a_second_close_does_nothing(exercise, tcp_pair):
    departures = Departures()
    conn = exercise.Connection(tcp_pair[0], "alice", departures)
    conn.close("too slow")
    conn.close("quit")
    assert departures == [("alice", "too slow")], "only the first close() counts"


def test_close_after_the_peer_is_gone_does_not_raise(exercise, tcp_pair):
    server_side, client_side = tcp_pair
    departures = Departures()
    conn = exercise.Connection(server_side, "bob", departures)
    server_side.close()  # the socket is already unusable: shutdown() raises OSError
    conn.close("connection lost")
    assert departures == [("bob", "connection lost")]


def test_close_wakes_a_reader_blocked_in_recv(exercise, tcp_pair):
    server_side, client_side = tcp_pair
    server_side.settimeout(None)  # a chat reader waits for as long as it takes
    departures = Departures()
    conn = exercise.Connection(server_side, "alice", departures)
    woke = []
    reading = threading.Event()

    def reader():
        reading.set()
        try:
            data = server_side.recv(1024)
        except OSError as exc:
            data = exc
        woke.append(data)
        conn.close("quit")  # the reader's own way out: must not announce alice twice

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert reading.wait(TIMEOUT)
    conn.close("kicked")  # from another thread, while the reader is blocked in recv()
    assert server_side.fileno() != -1, "close() closed the socket: that does not wake a blocked recv()"
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "the reader is still blocked in recv(): close() must shut the socket down"
    assert departures == [("alice", "kicked")]


def test_a_second_close_while_the_first_is_running_does_nothing(exercise, tcp_pair):
    inside = threading.Event()
    release = threading.Event()
    calls = []

    def slow_on_close(conn, reason):
        calls.append(reason)
        inside.set()
        release.wait(TIMEOUT)  # the first cleanup takes its time

    conn = exercise.Connection(tcp_pair[0], "alice", slow_on_close)
    errors = []

    def close_first():
        try:
            conn.close("too slow")
        except BaseException as exc:
            errors.append(exc)
            inside.set()

    first = threading.Thread(target=close_first, daemon=True)
    first.start()
    assert inside.wait(TIMEOUT), "on_close was never called"
    if errors:
        raise errors[0]
    second = threading.Thread(target=conn.close, args=("quit",), daemon=True)
    second.start()
    second.join(0.5)  # it may wait for the first or return at once; it must never clean up again
    release.set()
    first.join(TIMEOUT)
    second.join(TIMEOUT)
    assert calls == ["too slow"]


def test_many_threads_closing_at_once_clean_up_once(exercise, tcp_pair):
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for round in range(30):
            departures = Departures()
            conn = exercise.Connection(tcp_pair[0], "alice", departures)
            start = threading.Barrier(4)

            def close(reason):
                start.wait(TIMEOUT)
                conn.close(reason)

            threads = [threading.Thread(target=close, args=(f"reason {n}",), daemon=True) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(TIMEOUT)
            assert len(departures) == 1, f"round {round}: cleaned up {len(departures)} times"
    finally:
        sys.setswitchinterval(switch)


@pytest.mark.parametrize("reason", ["quit", "too slow", "server shutting down"])
def test_the_reason_is_passed_on(exercise, tcp_pair, reason):
    departures = Departures()
    exercise.Connection(tcp_pair[0], "bob", departures).close(reason)
    assert departures == [("bob", reason)]
