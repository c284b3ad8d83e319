"""graceful_shutdown: every client told, every thread woken and joined, nobody new let in."""

from __future__ import annotations

import socket

import pytest

from chatlab import ChatClient, ConnectionClosed, Decoder, Message, Shutdown

from conftest import TIMEOUT

STOP_TIMEOUT = 4.0  # what stop() may wait for each thread: a good stop() needs far less


@pytest.fixture
def tiny_chat(exercise):
    server = exercise.TinyChat()
    yield server
    # Whatever the test did, leave no thread behind: end the clients' threads the blunt way.
    server._stopping.set()
    server._wakeup_w.send(b"x")
    with server._lock:
        for sock in server._clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    for thread in server.threads():
        thread.join(TIMEOUT)
    server._listener.close()


def test_tinychat_is_a_real_chat(tiny_chat):  # given code: passes once stop() exists
    with (
        ChatClient.connect(*tiny_chat.address, "alice", timeout=TIMEOUT) as alice,
        ChatClient.connect(*tiny_chat.address, "bob", timeout=TIMEOUT) as bob,
    ):
        assert bob.online == ("alice",)
        alice.say("hi bob")
        assert bob.receive(TIMEOUT) == Message("alice", "hi bob")
        tiny_chat.stop(timeout=STOP_TIMEOUT)


def test_every_client_gets_the_notice_then_the_end(tiny_chat):
    with (
        ChatClient.connect(*tiny_chat.address, "alice", timeout=TIMEOUT) as alice,
        ChatClient.connect(*tiny_chat.address, "bob", timeout=TIMEOUT) as bob,
    ):
        tiny_chat.stop("maintenance", timeout=STOP_TIMEOUT)
        for client in (alice, bob):
            assert client.receive(TIMEOUT) == Shutdown("maintenance"), f"{client.alias} was not told"
            assert client.wait_closed(TIMEOUT), (
                f"{client.alias} got the notice, but the connection never ended: shut the socket down"
            )
            with pytest.raises(ConnectionClosed):
                client.receive(TIMEOUT)


def test_every_thread_has_ended_when_stop_returns(tiny_chat):
    with ChatClient.connect(*tiny_chat.address, "alice", timeout=TIMEOUT):
        tiny_chat.stop(timeout=STOP_TIMEOUT)
        alive = [thread.name for thread in tiny_chat.threads() if thread.is_alive()]
        assert not alive, f"still running after stop(): {alive}"


def test_a_silent_connection_does_not_hold_up_the_stop(tiny_chat):
    # bob connects and says nothing: his thread is blocked in recv(), waiting for a hello.
    with socket.create_connection(tiny_chat.address, timeout=TIMEOUT) as bob:
        # Once alice is in, bob's connection has been accepted too: connections are accepted in order.
        with ChatClient.connect(*tiny_chat.address, "alice", timeout=TIMEOUT):
            tiny_chat.stop(timeout=STOP_TIMEOUT)
            alive = [thread.name for thread in tiny_chat.threads() if thread.is_alive()]
            assert not alive, f"a thread blocked in recv() was not woken: wake it with sock.shutdown(); {alive}"
        decoder = Decoder()
        while data := bob.recv(65536):  # everything until the end of the stream
            decoder.feed(data)
        assert list(decoder) == [Shutdown("server shutting down")], "bob should get the notice, then the end"


def test_nobody_gets_in_after_stop(tiny_chat):
    tiny_chat.stop(timeout=STOP_TIMEOUT)
    assert not tiny_chat._accept_thread.is_alive(), "the accept loop is still running"
    with pytest.raises(OSError):  # ConnectionRefusedError: the listener is closed
        socket.create_connection(tiny_chat.address, timeout=TIMEOUT).close()


def test_stopping_twice_is_harmless(tiny_chat):
    with ChatClient.connect(*tiny_chat.address, "alice", timeout=TIMEOUT) as alice:
        tiny_chat.stop(timeout=STOP_TIMEOUT)
        tiny_chat.stop(timeout=STOP_TIMEOUT)
        assert alice.receive(TIMEOUT) == Shutdown("server shutting down")
