"""broadcast: everyone but the sender, slow members reported; your broadcast serving real clients."""

from __future__ import annotations

import chatlab.registry
from chatlab import ChatClient, ChatServer, Message

from conftest import TIMEOUT


class Inbox(list):
    """A member that keeps what it is given; ``full=True`` makes it a member too slow to take more.

    Two empty inboxes are equal (they are lists) but not the same member.
    """

    def __init__(self, name: str, full: bool = False) -> None:
        super().__init__()
        self.name = name
        self.full = full

    def deliver(self, frame: bytes) -> bool:
        if self.full:
            return False
        self.append(frame)
        return True

    def __repr__(self) -> str:
        return f"<{self.name}>"


def test_everyone_but_the_sender_gets_it(exercise):
    alice, bob, carol = Inbox("alice"), Inbox("bob"), Inbox("carol")
    slow = exercise.broadcast([alice, bob, carol], b"hi all", sender=alice)
    assert bob == [b"hi all"], f"bob should have got the frame once, got {list(bob)}"
    assert carol == [b"hi all"], f"carol should have got the frame once, got {list(carol)}"
    assert alice == [], "the sender must not get its own message back"
    assert slow == [], f"nobody was too slow, yet broadcast returned {slow}"


def test_without_a_sender_everyone_gets_it(exercise):
    alice, bob = Inbox("alice"), Inbox("bob")
    exercise.broadcast([alice, bob], b"server notice", sender=None)
    assert alice == [b"server notice"], "with sender=None, alice gets it too"
    assert bob == [b"server notice"], "with sender=None, bob gets it too"


def test_the_sender_is_told_apart_by_identity_not_equality(exercise):
    alice, bob = Inbox("alice"), Inbox("bob")
    assert alice == bob  # both empty lists
    exercise.broadcast([alice, bob], b"hi bob", sender=alice)
    assert bob == [b"hi bob"], "bob == alice, but bob is not alice: compare with `is`"


def test_slow_members_are_returned_and_the_others_still_served(exercise):
    alice, bob, carol, dave = Inbox("alice"), Inbox("bob", full=True), Inbox("carol"), Inbox("dave", full=True)
    slow = exercise.broadcast([alice, bob, carol, dave], b"hi", sender=alice)
    assert slow == [bob, dave], "return the members whose deliver() said False, in order"
    assert slow[0] is bob and slow[1] is dave
    assert carol == [b"hi"], "a slow member must not stop the broadcast"


def test_works_on_any_iterable(exercise):
    alice, bob = Inbox("alice"), Inbox("bob")
    exercise.broadcast(iter([alice, bob]), b"hi", sender=bob)
    assert alice == [b"hi"]


def test_your_broadcast_serves_three_real_clients(exercise, monkeypatch):
    # The real server's Registry calls chatlab.registry.broadcast: make it yours.
    monkeypatch.setattr(chatlab.registry, "broadcast", exercise.broadcast)
    with ChatServer("127.0.0.1", 0, handshake_timeout=TIMEOUT) as server:
        with (
            ChatClient.connect(*server.address, "alice", timeout=TIMEOUT) as alice,
            ChatClient.connect(*server.address, "bob", timeout=TIMEOUT) as bob,
            ChatClient.connect(*server.address, "carol", timeout=TIMEOUT) as carol,
        ):
            alice.say("hi bob, hi carol")
            assert bob.receive(TIMEOUT).alias == "carol"  # Joined("carol")
            assert bob.receive(TIMEOUT) == Message("alice", "hi bob, hi carol")
            assert carol.receive(TIMEOUT) == Message("alice", "hi bob, hi carol")
            carol.say("hi alice")
            # alice saw bob and carol join, then carol's answer: never her own message.
            seen = [alice.receive(TIMEOUT) for _ in range(3)]
            assert [type(e).__name__ for e in seen[:2]] == ["Joined", "Joined"]
            assert seen[2] == Message("carol", "hi alice"), f"alice got {seen[2]!r}"
            assert bob.receive(TIMEOUT) == Message("carol", "hi alice")
