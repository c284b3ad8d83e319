"""The client library against a real server: joining, callbacks, and the ways a connection ends."""

from __future__ import annotations

import socket
import threading

import pytest

from chatlab import AliasRefused, ChatClient, ConnectionClosed, Joined, Message, Shutdown
from chatlab.engines import make_server

TIMEOUT = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nobody_listening_raises_connection_refused():
    with pytest.raises(ConnectionRefusedError):
        ChatClient.connect("127.0.0.1", free_port(), "alice", timeout=TIMEOUT)


def test_invalid_alias_is_refused_before_connecting():
    with pytest.raises(ValueError, match="control character"):
        ChatClient.connect("127.0.0.1", free_port(), "a\x07b")


def test_refusal_carries_the_servers_reason(join):
    join("alice")
    with pytest.raises(AliasRefused) as refused:
        join("Alice")
    assert refused.value.reason == "alias 'Alice' is taken"


def test_events_go_to_the_callback_in_order(join):
    seen, done = [], threading.Event()

    def on_event(event):
        seen.append(event)
        if event == Message("bob", "2"):
            done.set()

    join("alice", on_event=on_event)
    bob = join("bob")
    bob.say("1")
    bob.say("2")
    assert done.wait(TIMEOUT)
    assert seen == [Joined("bob"), Message("bob", "1"), Message("bob", "2")]


def test_a_failing_callback_does_not_end_the_connection(join):
    got = threading.Event()

    def on_event(event):
        if isinstance(event, Message) and event.text == "second":
            got.set()
        raise RuntimeError("bug in the callback")

    alice = join("alice", on_event=on_event)
    bob = join("bob")
    bob.say("first")
    bob.say("second")
    assert got.wait(TIMEOUT)
    assert not alice.closed


def test_receive_times_out_when_nothing_comes(join):
    alice = join("alice")
    with pytest.raises(TimeoutError):
        alice.receive(timeout=0.05)


def test_empty_and_oversized_messages_are_refused_locally(join):
    alice = join("alice")
    with pytest.raises(ValueError, match="non-empty"):
        alice.say("")
    with pytest.raises(ValueError, match="too long"):
        alice.say("x" * 70_000)
    alice.say("still connected")


def test_server_stop_ends_iteration_and_is_reported(engine):
    closed_with = []
    server = make_server(engine, "127.0.0.1", 0).start()
    alice = ChatClient.connect(*server.address, "alice", on_close=closed_with.append)
    bob = ChatClient.connect(*server.address, "bob")
    server.stop()
    assert list(bob)[-1] == Shutdown("server shutting down")
    assert alice.wait_closed(TIMEOUT)
    assert closed_with == ["server closed the connection"]
    with pytest.raises(ConnectionClosed):
        bob.say("hello?")
    alice.close()
    bob.close()


def test_close_is_idempotent_and_reported_as_closed(join):
    alice = join("alice")
    alice.close()
    alice.close()
    assert alice.closed and alice.close_reason == "closed"
    with pytest.raises(ConnectionClosed):
        alice.say("after close")


def test_close_from_inside_a_callback_does_not_deadlock(join):
    closed = threading.Event()

    def on_event(event):
        alice.close()

    alice = join("alice", on_event=on_event, on_close=lambda reason: closed.set())
    join("bob")  # alice's callback sees Joined and closes from the receive thread
    assert closed.wait(TIMEOUT)
