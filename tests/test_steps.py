"""The 10 known defects of the classic chat, each reproduced on real sockets, then shown fixed.

Every test runs the classic step (``chatlab.steps.classic``) in a process of
its own and kills it at the end, whatever state its threads are in. Where it
is quick, the same scenario follows against ``chatlab.server`` (the final
step); tests/test_server.py covers that server in depth.

The classic protocol is plain text: the server sends ``alias?``, the client
answers with its alias, then every ``recv()`` is relayed to the others as is.
Nothing in it marks where a message ends, so the helpers here read until an
expected text has arrived, never a fixed number of reads.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
import threading

import pytest

from chatlab import ChatClient, ChatServer, Joined, Left, Message, Shutdown
from chatlab.errors import AliasRefused
from chatlab.steps import STEPS, start
from chatlab.steps.tools import ClassicPeer as Peer
from wire import RawPeer

TIMEOUT = 5.0


@pytest.fixture
def classic():
    """The classic chat on a free port, in its own process; killed after the test."""
    with start("classic") as server:
        yield server


@pytest.fixture
def peers(classic):
    """``peers(alias)`` joins the classic chat; every peer is closed after the test."""
    made = []

    def join(alias: str | None = None) -> Peer:
        peer = Peer(classic.address, alias)
        made.append(peer)
        return peer

    yield join
    for peer in made:
        peer.close()


@pytest.fixture
def final():
    with ChatServer("127.0.0.1", 0, handshake_timeout=2.0) as server:
        yield server


@pytest.fixture
def clients(final):
    made = []

    def join(alias: str, **kwargs) -> ChatClient:
        client = ChatClient.connect(*final.address, alias, timeout=TIMEOUT, **kwargs)
        made.append(client)
        return client

    yield join
    for client in made:
        client.close()


def test_every_step_starts_on_a_free_port_and_stops():
    for name in STEPS:
        server = start(name)
        try:
            with socket.create_connection(server.address, timeout=TIMEOUT):
                pass
        finally:
            server.stop()


# -- 1. no framing ------------------------------------------------------------


def test_classic_merges_two_quick_messages(peers):
    bob, alice, carol = peers("bob"), peers("alice"), peers("carol")
    bob.expect(b"carol joined the chat")
    alice.sock.sendall(b"hi")
    alice.sock.sendall(b"there")
    # The server relays to bob, then to carol, in one thread: once carol has
    # both messages, both are waiting in bob's socket, and one recv() takes them.
    carol.expect(b"hithere")
    assert bob.sock.recv(1024) == b"hithere"


def test_final_keeps_two_quick_messages_apart(clients):
    bob = clients("bob")
    alice = clients("alice")
    assert bob.receive(timeout=TIMEOUT) == Joined("alice")
    alice.say("hi")
    alice.say("there")
    assert bob.receive(timeout=TIMEOUT) == Message("alice", "hi")
    assert bob.receive(timeout=TIMEOUT) == Message("alice", "there")


def test_classic_cuts_a_long_message_into_pieces(classic, peers):
    alice, bob = peers("alice"), peers("bob")
    alice.sock.sendall(b"x" * 3000)
    bob.expect(b"x" * 3000)
    # recv(1024) never returns more than 1024 bytes: the server relayed at least 3 pieces.
    classic.wait_for("conn 1 received b'xxx", count=3)


def test_classic_glues_an_alias_to_the_first_message(classic, peers):
    mallory = peers()
    mallory.expect(b"alias?")  # the accept loop now waits for mallory, and only for her
    alice = peers()
    alice.sock.sendall(b"alice")
    alice.sock.sendall(b"alice: hi")
    mallory.sock.sendall(b"mallory")  # the accept loop moves on, and reads alice's alias
    alice.expect(b"alias?")
    classic.wait_for("joined as 'alicealice: hi'")


# -- 2. b"" relayed forever ---------------------------------------------------------


def test_classic_spins_on_empty_recv(classic, peers):
    alice, bob = peers("alice"), peers("bob")
    alice.expect(b"bob joined the chat")  # nothing left unread: her close() sends a FIN, not a reset
    alice.close()
    # The thread of a client that left calls recv() again and again; each returns b"" at once.
    classic.wait_for("conn 1 received b''", count=1000, timeout=30)
    assert bob.pending == b""  # and nobody is told that alice left


def test_final_tells_the_others_when_a_client_leaves(clients):
    bob = clients("bob")
    alice = clients("alice")
    assert bob.receive(timeout=TIMEOUT) == Joined("alice")
    alice.close()
    assert bob.receive(timeout=TIMEOUT) == Left("alice", "quit")


# -- 3. a dead socket left in the list ----------------------------------------------


def test_classic_dead_socket_disconnects_the_sender(classic, peers):
    alice, bob, carol = peers("alice"), peers("bob"), peers("carol")
    alice.expect(b"carol joined the chat")  # nothing left unread: her close() sends a FIN, not a reset
    alice.close()  # alice's socket stays in the list (defect 2)
    bob.sock.sendall(b"bob: one")  # reaches alice's closed socket: her side answers with a reset
    carol.expect(b"bob: one")
    bob.sock.sendall(b"bob: two")  # the send to alice fails, in *bob's* thread...
    bob.expect_closed()  # ...so the server drops bob, who did nothing wrong
    classic.wait_for("conn 2 (bob) left")


def test_final_drops_only_the_client_that_left(clients):
    alice, bob, carol = clients("alice"), clients("bob"), clients("carol")
    alice.close()
    assert carol.receive(timeout=TIMEOUT) == Left("alice", "quit")
    bob.say("one")
    bob.say("two")
    assert carol.receive(timeout=TIMEOUT) == Message("bob", "one")
    assert carol.receive(timeout=TIMEOUT) == Message("bob", "two")
    assert not bob.closed


# -- 4. a failed send during a join ------------------------------------------------


def test_classic_failed_join_notice_stops_the_accept_loop(classic, peers):
    alice = peers("alice")
    alice.close()
    peers("bob")  # bob's join notice reaches alice's closed socket: reset
    carol = peers()
    carol.expect(b"alias?")
    carol.sock.sendall(b"carol")  # carol's join notice to alice fails, in the accept loop
    classic.wait_for("in accept_forever")  # the traceback of the accept loop: it is gone
    dave = peers()
    dave.sock.settimeout(1.0)
    with pytest.raises(TimeoutError):  # connected (the kernel accepts), but nobody asks for an alias
        dave.expect(b"alias?")


def test_final_keeps_accepting_after_a_client_dies(final, clients):
    with RawPeer(final.address) as alice:
        alice.hello("alice")
        alice.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    bob = clients("bob")
    clients("carol")
    assert _next_join(bob) == Joined("carol")
    clients("dave")
    assert _next_join(bob) == Joined("dave")


def _next_join(client: ChatClient) -> Joined:
    """The next ``Joined`` event (alice's ``Left`` may come before or after any of them)."""
    while not isinstance(event := client.receive(timeout=TIMEOUT), Joined):
        assert event == Left("alice", "connection lost")
    return event


# -- 5. shutdown hangs --------------------------------------------------------------


def test_classic_shutdown_hangs_while_a_client_is_connected(classic, peers):
    alice, bob = peers("alice"), peers("bob")
    alice.sock.sendall(b"alice: hi")
    bob.expect(b"alice: hi")
    bob.sock.sendall(b"bob: hi")
    alice.expect(b"bob: hi")  # both clients' threads are running: each is back in recv()
    classic.interrupt()  # Ctrl+C: the server closes every socket and returns from main()...
    classic.wait_for("shutting down")
    # ...but alice's thread is still blocked in recv(): close() did not wake it.
    assert not classic.wait(timeout=1.0)
    assert classic.alive


def test_final_shutdown_ends_every_connection(final, clients):
    alice = clients("alice")
    final.stop(timeout=TIMEOUT)
    assert final.stopped
    assert alice.receive(timeout=TIMEOUT) == Shutdown()
    assert alice.wait_closed(timeout=TIMEOUT)


# -- 6. the handshake in the accept loop --------------------------------------------


def test_classic_silent_connection_blocks_every_join(peers):
    mallory = peers()
    mallory.expect(b"alias?")  # and says nothing
    alice = peers()
    alice.sock.settimeout(1.0)
    with pytest.raises(TimeoutError):
        alice.expect(b"alias?")
    alice.sock.settimeout(TIMEOUT)
    mallory.sock.sendall(b"mallory")  # the moment mallory answers, alice is let in
    alice.expect(b"alias?")


def test_final_lets_clients_join_past_a_silent_connection(final, clients):
    with socket.create_connection(final.address, timeout=TIMEOUT):  # connects and says nothing
        alice = clients("alice")
        assert alice.online == ()


# -- 7. a client that stops reading --------------------------------------------------

CHUNK = 16 * 1024
LIMIT = 64 * 1024 * 1024  # give up looking for a stall after this much


@pytest.mark.slow
def test_classic_reader_that_never_reads_stalls_everyone(peers):
    sloth, alice, bob = peers("sloth"), peers("alice"), peers("bob")
    sloth.expect(b"bob joined the chat")  # and from now on sloth reads nothing
    alice.sock.sendall(b"x")
    bob.expect(b"x")
    bob.sock.settimeout(2.0)
    relayed = 0
    stalled = False
    while relayed < LIMIT and not stalled:
        alice.sock.sendall(b"x" * CHUNK)
        try:
            bob.expect(b"x" * CHUNK)
            relayed += CHUNK
        except TimeoutError:
            stalled = True  # the server is stuck in send() to sloth, and bob waits with it
    assert stalled, f"no stall after {relayed} bytes"
    assert relayed >= 64 * 1024  # the kernel buffers took a lot before the stall

    # Proof that sloth was the cause: once sloth reads, bob gets the rest.
    def drain():
        try:
            while sloth.sock.recv(1 << 20):
                pass
        except OSError:
            pass

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    bob.sock.settimeout(TIMEOUT)
    bob.expect(b"x" * CHUNK)
    sloth.sock.shutdown(socket.SHUT_RDWR)  # wakes the drainer's recv()
    drainer.join(TIMEOUT)


@pytest.mark.slow
def test_final_drops_a_client_that_never_reads(final, clients):
    with RawPeer(final.address) as sloth:
        sloth.hello("sloth")  # and never reads again
        alice, bob = clients("alice"), clients("bob")
        text = "x" * CHUNK
        for _ in range(LIMIT // CHUNK):
            alice.say(text)
            event = bob.receive(timeout=TIMEOUT)  # bob never waits long: his outbox is his own
            if event == Left("sloth", "too slow"):
                break
            assert event == Message("alice", text)
        else:
            pytest.fail("the server never dropped the client that does not read")


# -- 8. two lists, no lock ------------------------------------------------------------


def test_classic_duplicate_aliases_desync_the_lists(peers):
    first, bob, second = peers("alice"), peers("bob"), peers("alice")
    first.expect(b"alice joined the chat")
    second.reset()  # the second alice leaves: the server removes the *first* "alice" from the aliases
    first.expect(b"alice left the chat")
    bob.expect(b"alice left the chat")  # the server is done with that notice
    bob.reset()  # bob leaves, and the lists, now out of step, give his socket the name "alice"
    assert first.expect(b"left the chat") == b"alice left the chat"


def test_final_refuses_a_taken_alias(clients):
    clients("alice")
    with pytest.raises(AliasRefused):
        clients("alice")


# -- 9. the classic client ----------------------------------------------------------


def test_classic_client_prints_empty_lines_when_the_server_goes():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        client = subprocess.Popen(
            [sys.executable, "-u", "-m", "chatlab.steps.classic_client", "--port", str(listener.getsockname()[1])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            client.stdin.write("alice\n")
            client.stdin.flush()
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                conn.sendall(b"alias?")
                assert conn.recv(1024) == b"alice"
            # The server is gone. The client's receive loop now prints b"" as a line, forever.
            empty = _count_lines(client.stdout, "", want=1000, timeout=30)
            assert empty >= 1000
        finally:
            client.kill()
            client.wait()
            client.stdout.close()
            client.stdin.close()


def _count_lines(stream, line: str, want: int, timeout: float) -> int:
    """Read ``stream`` until ``want`` lines equal to ``line`` have come (or ``timeout``); return the count."""
    count = 0
    enough = threading.Event()

    def read():
        nonlocal count
        for text in stream:
            if text.rstrip("\n") == line:
                count += 1
                if count >= want:
                    break
        enough.set()

    threading.Thread(target=read, daemon=True).start()
    enough.wait(timeout)
    return count


def test_final_client_exits_when_the_server_goes(final, clients):
    bob = clients("bob")
    client = subprocess.Popen(
        [sys.executable, "-m", "chatlab", "client", "--port", str(final.address[1]), "--alias", "alice"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert bob.receive(timeout=15) == Joined("alice")
        final.stop(timeout=TIMEOUT)
        assert client.wait(timeout=15) == 5  # "the server shut down": no empty lines, an exit
    finally:
        client.kill()
        client.wait()
        client.stdin.close()


# -- 10. no SO_REUSEADDR ---------------------------------------------------------------


def test_classic_restart_fails_with_address_in_use():
    server = start("classic")
    port = server.address[1]
    bob = Peer(server.address, "bob")
    server.stop()  # the server's side closes first: its end of bob's connection goes to TIME_WAIT
    bob.expect_closed()
    bob.close()
    with pytest.raises(OSError, match="Address already in use"):
        start("classic", port=port).stop()


def test_final_restarts_on_the_same_port_at_once():
    # TIME_WAIT connections keep the option of the server that made them: both
    # the old and the new server must set SO_REUSEADDR, so restart a final server.
    server = ChatServer("127.0.0.1", 0).start()
    port = server.address[1]
    bob = ChatClient.connect(*server.address, "bob", timeout=TIMEOUT)
    server.stop(timeout=TIMEOUT)
    assert bob.wait_closed(timeout=TIMEOUT)
    bob.close()
    with ChatServer("127.0.0.1", port) as restarted:
        assert restarted.address[1] == port
