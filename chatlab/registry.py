"""Who is in the chat: one lock around the aliases and their connections.

Invariants, all kept by holding ``_lock``:

* an alias key (see :func:`chatlab.protocol.alias_key`) belongs to at most one member;
* a new member's ``Welcome`` is queued before any broadcast can reach it, and
  its ``Joined`` notice reaches every other member before any later message;
* every member sees broadcasts in the same order, because frames are queued
  while the lock is held (queueing never blocks: see :mod:`chatlab.outbox`).

The registry never touches a socket. A broadcast that finds a member's outbox
full returns that member, and the caller disconnects it *after* the lock is
released, so disconnecting (which broadcasts a ``Left``) cannot deadlock.
"""

from __future__ import annotations

import threading
from typing import Iterable, Protocol

from .events import Joined, Welcome
from .protocol import alias_key, encode

__all__ = ["JoinRefused", "Member", "Registry", "broadcast"]


class Member(Protocol):
    """What the registry needs of a connection: somewhere to queue frames."""

    def deliver(self, frame: bytes) -> bool:
        """Queue ``frame`` for sending; False if this member is too far behind."""


def broadcast(members: Iterable[Member], frame: bytes, sender: Member | None = None) -> list[Member]:
    """Queue ``frame`` for every member but ``sender``; return those too slow to take it.

    It only queues, so it never blocks and never touches a socket. (This is
    exercise ``broadcast``: the server runs this very function.)

    >>> class Inbox(list):
    ...     def deliver(self, frame):
    ...         self.append(frame)
    ...         return True
    >>> alice, bob = Inbox(), Inbox()
    >>> broadcast([alice, bob], b"hi", sender=alice)
    []
    >>> alice, bob
    ([], [b'hi'])
    """
    return [member for member in members if member is not sender and not member.deliver(frame)]


class JoinRefused(Exception):
    """A join was refused; the message is the reason sent to the client."""


class Registry:
    """The members of the chat, by alias, safe to use from many threads.

    >>> class Inbox(list):
    ...     def deliver(self, frame):
    ...         self.append(frame)
    ...         return True
    >>> registry = Registry()
    >>> alice, bob = Inbox(), Inbox()
    >>> registry.join(alice, "alice"), registry.join(bob, "bob")
    ([], [])
    >>> registry.join(Inbox(), "ALICE")
    Traceback (most recent call last):
    ...
    chatlab.registry.JoinRefused: alias 'ALICE' is taken
    >>> registry.aliases()
    ['alice', 'bob']
    """

    def __init__(self, max_members: int = 1000) -> None:
        self.max_members = max_members
        self._lock = threading.Lock()
        self._members: dict[str, tuple[str, Member]] = {}  # alias key -> (alias, member)
        self._closed = False

    def join(self, member: Member, alias: str) -> list[Member]:
        """Add ``member`` as ``alias``: queue its ``Welcome``, then tell everyone else.

        Returns the members that were too slow to take the ``Joined`` notice.
        Raises :class:`JoinRefused` if the alias is taken, the chat is full or closed.
        """
        key = alias_key(alias)
        with self._lock:
            if self._closed:
                raise JoinRefused("server shutting down")
            if key in self._members:
                raise JoinRefused(f"alias {alias!r} is taken")
            if len(self._members) >= self.max_members:
                raise JoinRefused(f"server full ({self.max_members} clients)")
            online = tuple(name for name, _ in self._members.values())
            member.deliver(encode(Welcome(alias, online)))  # first in its outbox
            slow = self._deliver_to_all(encode(Joined(alias)), exclude=None)
            self._members[key] = (alias, member)
            return slow

    def leave(self, member: Member, alias: str) -> bool:
        """Remove ``member``; return True if it was a member (so its leaving is news)."""
        with self._lock:
            entry = self._members.get(alias_key(alias))
            if entry is None or entry[1] is not member:
                return False
            del self._members[alias_key(alias)]
            return True

    def broadcast(self, frame: bytes, exclude: Member | None = None) -> list[Member]:
        """Queue ``frame`` for every member but ``exclude``; return those too slow to take it."""
        with self._lock:
            return self._deliver_to_all(frame, exclude)

    def _deliver_to_all(self, frame: bytes, exclude: Member | None) -> list[Member]:
        if self._closed:
            return []
        return broadcast([member for _, member in self._members.values()], frame, exclude)

    def close(self) -> list[Member]:
        """Refuse further joins and broadcasts; return the members at that moment."""
        with self._lock:
            self._closed = True
            return [member for _, member in self._members.values()]

    def aliases(self) -> list[str]:
        """The aliases online now, in the order they joined."""
        with self._lock:
            return [alias for alias, _ in self._members.values()]

    def __len__(self) -> int:
        with self._lock:
            return len(self._members)
