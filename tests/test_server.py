"""The server on real sockets on 127.0.0.1: chatting, and every way a client can misbehave.

Each test runs once per engine (see conftest.py). Every failure of the classic
tutorial chat has a test here showing chatlab survives it.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest

from chatlab import (
    AliasRefused,
    ChatClient,
    ConnectionClosed,
    Error,
    Joined,
    Left,
    Message,
    Refused,
    Say,
    Shutdown,
    Welcome,
    encode,
    encode_frame,
)
from chatlab.engines import make_server
from chatlab.events import Hello
from wire import RawPeer

TIMEOUT = 10


def receive_until(client: ChatClient, predicate, timeout: float = TIMEOUT) -> list:
    """Events received up to and including the first one matching ``predicate``."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        event = client.receive(timeout=max(0.0, deadline - time.monotonic()))
        seen.append(event)
        if predicate(event):
            return seen


def messages(events) -> list[tuple[str, str]]:
    return [(e.alias, e.text) for e in events if isinstance(e, Message)]


# -- chatting -----------------------------------------------------------------


def test_message_reaches_everyone_but_the_sender(join):
    alice, bob, carol = join("alice"), join("bob"), join("carol")
    receive_until(alice, lambda e: e == Joined("carol"))
    receive_until(bob, lambda e: e == Joined("carol"))
    alice.say("hello all")
    assert receive_until(bob, lambda e: isinstance(e, Message))[-1] == Message("alice", "hello all")
    assert receive_until(carol, lambda e: isinstance(e, Message))[-1] == Message("alice", "hello all")
    bob.say("marker")  # alice hears bob's marker, and nothing of her own before it
    assert messages(receive_until(alice, lambda e: isinstance(e, Message))) == [("bob", "marker")]


def test_welcome_says_who_is_already_here(join):
    join("alice")
    bob = join("bob")
    assert bob.online == ("alice",)
    assert join("carol").online == ("alice", "bob")


def test_join_and_leave_are_announced(join, server):
    alice = join("alice")
    bob = join("bob")
    assert alice.receive(timeout=TIMEOUT) == Joined("bob")
    bob.close()
    assert alice.receive(timeout=TIMEOUT) == Left("bob", "quit")
    assert server.online() == ["alice"]


def test_messages_from_one_sender_arrive_in_order(join):
    alice, bob = join("alice"), join("bob")
    receive_until(alice, lambda e: e == Joined("bob"))
    for n in range(2000):
        alice.say(f"message {n}")
    got = messages(receive_until(bob, lambda e: e == Message("alice", "message 1999")))
    assert got == [("alice", f"message {n}") for n in range(2000)]


def test_unicode_and_long_messages_arrive_intact(join):
    alice, bob = join("émilie 🐍"), join("李雷")
    receive_until(alice, lambda e: isinstance(e, Joined))
    texts = ["héllo wörld", "👨‍👩‍👧 family", "你好", "x" * 60_000]
    for t in texts:
        alice.say(t)
    assert messages(receive_until(bob, lambda e: e == Message("émilie 🐍", texts[-1]))) == [
        ("émilie 🐍", t) for t in texts
    ]


def test_twenty_clients_joining_at_the_same_moment_all_get_in(server):
    start = threading.Barrier(20)
    clients, errors = [], []

    def join_now(n):
        start.wait(timeout=TIMEOUT)
        try:
            clients.append(ChatClient.connect(*server.address, f"user{n}", timeout=TIMEOUT))
        except Exception as exc:  # collected, then asserted on in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=join_now, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    try:
        assert errors == []
        assert sorted(server.online()) == sorted(f"user{n}" for n in range(20))
    finally:
        for c in clients:
            c.close()


# -- aliases ------------------------------------------------------------------


@pytest.mark.parametrize("taken_as", ["alice", "ALICE", "Alice", "ａｌｉｃｅ"])
def test_taken_alias_is_refused_whatever_its_case(join, server, taken_as):
    alice = join("alice")
    with pytest.raises(AliasRefused, match="is taken"):
        join(taken_as)
    bob = join("bob")  # the server still serves, and the first alice is untouched
    bob.say("still here?")
    assert receive_until(alice, lambda e: isinstance(e, Message))[-1] == Message("bob", "still here?")
    assert server.online() == ["alice", "bob"]


def test_alias_is_free_again_once_its_owner_leaves(join):
    join("alice").close()
    assert join("alice").alias == "alice"


@pytest.mark.parametrize("alias", ["", "   ", "a" * 33, "evil\x1b[2J"])
def test_invalid_alias_is_refused_with_a_reason(server, alias):
    with RawPeer(server.address) as peer:
        reply = peer.hello(alias)
        assert isinstance(reply, Refused) and "alias" in reply.reason
        assert peer.events_until_closed() == []


def test_server_full_refuses_politely(engine):
    with make_server(engine, "127.0.0.1", 0, max_clients=2) as server:
        with ChatClient.connect(*server.address, "alice"), ChatClient.connect(*server.address, "bob"):
            with pytest.raises(AliasRefused, match="full"):
                ChatClient.connect(*server.address, "carol", timeout=TIMEOUT)


# -- clients that misbehave ---------------------------------------------------


def test_silent_connection_does_not_block_anyone_else(join, server):
    with RawPeer(server.address):  # connects, then says nothing
        alice, bob = join("alice"), join("bob")
        alice.say("we got in")
        assert receive_until(bob, lambda e: isinstance(e, Message))[-1] == Message("alice", "we got in")


def test_silent_connection_is_dropped_after_the_handshake_timeout(server):
    with RawPeer(server.address) as peer:
        # The server fixture uses a 2 s handshake timeout; say nothing at all.
        event = peer.next_event()
        assert isinstance(event, Error) and "timed out" in event.reason
        assert peer.next_event() is None


def test_client_that_never_reads_is_dropped_and_others_keep_chatting(engine):
    with make_server(engine, "127.0.0.1", 0) as server:  # default limit: 1 MiB per outbox
        alice = ChatClient.connect(*server.address, "alice")
        bob = ChatClient.connect(*server.address, "bob")
        slow = RawPeer(server.address)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        assert isinstance(slow.hello("carol"), Welcome)
        receive_until(bob, lambda e: e == Joined("carol"))
        chunk = "x" * 2000
        got = []
        for batch in range(40):  # 8 MB in all: more than carol's kernel buffers and outbox hold
            for n in range(batch * 100, batch * 100 + 100):
                alice.say(f"{n} {chunk}")
            # Alice waits for bob to keep up, so only the client that never reads falls behind.
            got += receive_until(bob, lambda e, n=n: isinstance(e, Message) and e.text.startswith(f"{n} "))
        assert Left("carol", "too slow") in got
        assert len(messages(got)) == 4000
        assert server.online() == ["alice", "bob"]
        slow.close()
        alice.close()
        bob.close()


def test_abrupt_disconnect_is_announced_as_a_leave(join, server):
    alice = join("alice")
    with RawPeer(server.address) as peer:
        assert isinstance(peer.hello("bob"), Welcome)
        receive_until(alice, lambda e: e == Joined("bob"))
        # SO_LINGER with a zero timeout makes close() send a reset (RST), like a killed process.
        peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    left = receive_until(alice, lambda e: isinstance(e, Left))[-1]
    assert left.alias == "bob"
    assert server.online() == ["alice"]


@pytest.mark.parametrize(
    "garbage, complaint",
    [
        (b"GET / HTTP/1.1\r\nHost: chat\r\n\r\n", "over the limit"),  # "GET " read as a length
        (encode_frame(b"\xff\xfe\xfd"), "UTF-8"),
        (encode_frame(b"{not json}"), "not JSON"),
        (encode_frame(b'["a list"]'), "JSON object"),
        (encode_frame(b'{"type": "dance"}'), "unknown message type"),
        (encode_frame(b'{"type": "say", "text": ""}'), "some text"),
        (encode(Message("bob", "forged")), "not allowed"),
        (encode(Hello("alice2")), "unexpected 'hello'"),
        (b"\x7f\xff\xff\xff", "over the limit"),  # a 2 GiB length prefix
    ],
)
def test_bad_input_gets_an_error_and_only_that_client_leaves(join, server, garbage, complaint):
    alice = join("alice")
    with RawPeer(server.address) as peer:
        assert isinstance(peer.hello("mallory"), Welcome)
        receive_until(alice, lambda e: e == Joined("mallory"))
        peer.send(garbage)
        error = peer.next_event()
        assert isinstance(error, Error) and complaint in error.reason
        assert peer.events_until_closed() == []
    left = receive_until(alice, lambda e: isinstance(e, Left))[-1]
    assert left.alias == "mallory" and left.reason.startswith("protocol error: ") and complaint in left.reason
    bob = join("bob")
    bob.say("still working")
    assert receive_until(alice, lambda e: isinstance(e, Message))[-1] == Message("bob", "still working")


def test_garbage_before_the_handshake_is_refused(server):
    with RawPeer(server.address) as peer:
        peer.send(encode(Say("no hello first")))
        event = peer.next_event()
        assert isinstance(event, Error) and "first message must be 'hello'" in event.reason
        assert peer.next_event() is None


def test_frame_cut_by_a_disconnect_is_cleaned_up(join, server):
    alice = join("alice")
    with RawPeer(server.address) as peer:
        assert isinstance(peer.hello("bob"), Welcome)
        receive_until(alice, lambda e: e == Joined("bob"))
        peer.send(encode(Say("this message is cut short"))[:12])
        peer.sock.shutdown(socket.SHUT_WR)  # EOF in the middle of a frame
        assert isinstance(peer.next_event(), Error)
    left = receive_until(alice, lambda e: isinstance(e, Left))[-1]
    assert left.alias == "bob" and "stream ended" in left.reason
    assert server.online() == ["alice"]


def test_messages_said_just_before_leaving_are_delivered(join):
    alice, bob = join("alice"), join("bob")
    receive_until(alice, lambda e: e == Joined("bob"))
    for n in range(100):
        bob.say(f"last words {n}")
    bob.close()
    got = receive_until(alice, lambda e: isinstance(e, Left))
    assert messages(got) == [("bob", f"last words {n}") for n in range(100)]


# -- stopping and restarting --------------------------------------------------


def chat_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("chatlab-") and "client" not in t.name]


def test_stop_tells_every_client_and_ends_every_thread(engine):
    before = set(chat_threads())
    server = make_server(engine, "127.0.0.1", 0).start()
    clients = [ChatClient.connect(*server.address, alias) for alias in ("alice", "bob", "carol")]
    server.stop()
    for client in clients:
        assert client.wait_closed(TIMEOUT)
        events = list(client)
        assert events and events[-1] == Shutdown("server shutting down")
        with pytest.raises(ConnectionClosed):
            client.say("anyone?")
        client.close()
    assert server.wait(0)
    assert set(chat_threads()) <= before


def test_stop_does_not_wait_forever_on_a_client_that_never_reads(engine):
    server = make_server(engine, "127.0.0.1", 0, max_outbox_bytes=1 << 30).start()
    alice = ChatClient.connect(*server.address, "alice")
    deaf = RawPeer(server.address)
    deaf.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert isinstance(deaf.hello("deaf"), Welcome)
    for n in range(2000):  # fill the deaf client's buffers so the server's writes block
        alice.say("y" * 1000)
    began = time.monotonic()
    server.stop(timeout=2.0)
    assert time.monotonic() - began < TIMEOUT  # bounded by stop()'s own timeout, not by the client
    assert alice.wait_closed(TIMEOUT)
    alice.close()
    deaf.close()


def test_stop_before_anyone_connects(engine):
    server = make_server(engine, "127.0.0.1", 0).start()
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=TIMEOUT)


def test_immediate_restart_on_the_same_port(engine):
    first = make_server(engine, "127.0.0.1", 0).start()
    port = first.address[1]
    alice = ChatClient.connect("127.0.0.1", port, "alice")
    bob = ChatClient.connect("127.0.0.1", port, "bob")
    alice.say("before the restart")
    first.stop()  # the server closes first, so its side of each connection sits in TIME_WAIT
    alice.close()
    bob.close()
    with make_server(engine, "127.0.0.1", port) as second:  # SO_REUSEADDR lets this bind
        with ChatClient.connect("127.0.0.1", port, "alice") as again:
            assert again.alias == "alice"
            assert second.online() == ["alice"]


def test_port_already_in_use_is_an_oserror(engine, server):
    with pytest.raises(OSError):
        make_server(engine, "127.0.0.1", server.address[1]).start()
