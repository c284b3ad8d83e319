"""registry: unique case-insensitive aliases, one lock around everything, real clients let in or not."""

from __future__ import annotations

import socket
import threading

import pytest

from chatlab import AliasRefused, ChatClient
from chatlab.events import CLIENT_EVENTS, Hello, Refused, Welcome
from chatlab.protocol import Decoder, encode

from conftest import TIMEOUT


def test_join_and_list_in_order(exercise):
    registry = exercise.Registry()
    registry.join("alice", "alice's connection")
    registry.join("bob", "bob's connection")
    assert registry.aliases() == ["alice", "bob"]
    assert registry.members() == ["alice's connection", "bob's connection"]


@pytest.mark.parametrize("other", ["alice", "Alice", "ALICE", "ａｌｉｃｅ"])
def test_a_taken_alias_is_refused_whatever_its_case(exercise, other):
    registry = exercise.Registry()
    registry.join("alice", "first")
    with pytest.raises(exercise.AliasTaken):
        registry.join(other, "second")
    assert registry.members() == ["first"], "a refused join must not change the registry"


def test_leave_frees_the_alias(exercise):
    registry = exercise.Registry()
    registry.join("alice", 1)
    registry.join("bob", 2)
    assert registry.leave("ALICE") is True
    assert registry.leave("alice") is False, "alice already left"
    assert registry.aliases() == ["bob"]
    registry.join("Alice", 3)
    assert registry.aliases() == ["bob", "Alice"], "aliases are kept as typed"


def test_lists_are_copies(exercise):
    registry = exercise.Registry()
    registry.join("alice", 1)
    registry.members().clear()
    registry.aliases().clear()
    assert registry.aliases() == ["alice"], "members() and aliases() must return new lists"


class WatchedLock:
    """A lock that knows which thread holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None

    def acquire(self, *args) -> bool:
        got = self._lock.acquire(*args)
        if got:
            self.owner = threading.get_ident()
        return got

    def release(self) -> None:
        self.owner = None
        self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc_info) -> None:
        self.release()


def _guarded(name):
    def method(self, *args, **kwargs):
        assert self.lock.owner == threading.get_ident(), (
            f"registry._members.{name} was used without holding registry._lock"
        )
        return getattr(dict, name)(self, *args, **kwargs)

    return method


class WatchedDict(dict):
    """A dict that fails any use made without holding ``lock``."""

    def __init__(self, lock: WatchedLock) -> None:
        super().__init__()
        self.lock = lock


for _name in (
    "__contains__", "__getitem__", "__setitem__", "__delitem__", "__iter__", "__len__",
    "get", "pop", "setdefault", "items", "keys", "values", "update", "copy",
):
    setattr(WatchedDict, _name, _guarded(_name))


def test_every_method_holds_the_lock(exercise):
    registry = exercise.Registry()
    registry._lock = WatchedLock()
    registry._members = WatchedDict(registry._lock)
    registry.join("alice", 1)
    registry.join("bob", 2)
    with pytest.raises(exercise.AliasTaken):
        registry.join("Bob", 3)
    assert registry.aliases() == ["alice", "bob"]
    assert registry.members() == [1, 2]
    assert registry.leave("alice") is True


def test_only_one_of_many_racing_alices_gets_in(exercise):
    registry = exercise.Registry()
    start = threading.Barrier(8)
    winners = []

    def join(n):
        start.wait(TIMEOUT)
        try:
            registry.join(["alice", "Alice", "ALICE", "aLiCe"][n % 4], n)
            winners.append(n)
        except exercise.AliasTaken:
            pass

    threads = [threading.Thread(target=join, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(winners) == 1, f"{len(winners)} clients got the alias alice"


def _serve_handshakes(listener: socket.socket, registry, taken: type, count: int) -> None:
    """A tiny server: for each of ``count`` clients, read its hello and let the registry decide."""
    for _ in range(count):
        sock, _ = listener.accept()
        try:
            sock.settimeout(TIMEOUT)
            decoder = Decoder(accept=CLIENT_EVENTS)
            while (hello := decoder.next_event()) is None:
                decoder.feed(sock.recv(65536))
            assert isinstance(hello, Hello)
            online = tuple(registry.aliases())
            try:
                registry.join(hello.alias, sock)
            except taken as exc:
                sock.sendall(encode(Refused(str(exc))))
                sock.close()
            else:
                sock.sendall(encode(Welcome(hello.alias, online)))
        except BaseException:
            sock.close()  # the client sees the connection end, instead of waiting for a reply
            raise


def test_your_registry_lets_real_clients_in_or_refuses_them(exercise):
    registry = exercise.Registry()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        server = threading.Thread(target=_serve_handshakes, args=(listener, registry, exercise.AliasTaken, 3), daemon=True)
        server.start()
        with ChatClient.connect(*listener.getsockname(), "alice", timeout=TIMEOUT) as alice:
            with ChatClient.connect(*listener.getsockname(), "bob", timeout=TIMEOUT) as bob:
                assert bob.online == ("alice",)
                with pytest.raises(AliasRefused):
                    ChatClient.connect(*listener.getsockname(), "ALICE", timeout=TIMEOUT)
                assert alice.alias == "alice"
                server.join(TIMEOUT)
                for sock in registry.members():
                    sock.close()  # the server's side hangs up: the clients close at once
