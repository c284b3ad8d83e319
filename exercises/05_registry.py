"""Exercise 05 · registry: who is in the chat, safe to use from many threads.

A threaded server runs one thread per client, and they all read and change
the list of who is online at the same time. Two clients that both ask for
"alice" at the same moment must not both get in: checking "is it free?" and
taking it must happen as one step, under one lock.

Write the four methods of ``Registry``. Every one of them must hold
``self._lock`` while it looks at or changes ``self._members``:

* ``join(alias, member)`` adds ``member`` under ``alias``, or raises
  ``AliasTaken`` if the alias is in use. Aliases are compared with
  ``alias_key(alias)`` (imported below), so "alice", "Alice" and "ALICE" clash.
* ``leave(alias)`` removes whoever has that alias; returns True if someone
  did, False if nobody had it.
* ``aliases()`` returns the aliases online, as they were typed, in the order
  they joined; ``members()`` returns the members in the same order.

Example::

    registry = Registry()
    registry.join("alice", alice_conn)
    registry.join("bob", bob_conn)
    registry.join("ALICE", other)     # raises AliasTaken
    registry.aliases()                # -> ["alice", "bob"]
    registry.leave("Alice")           # -> True
    registry.members()                # -> [bob_conn]

Check it with ``chatlab exercises check registry``.
"""

from __future__ import annotations

import threading

from chatlab.protocol import alias_key


class AliasTaken(Exception):
    """Someone in the chat already has this alias (compared with ``alias_key``)."""


class Registry:
    """The members of the chat by alias; every method may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # alias_key(alias) -> (alias as typed, member); dicts keep insertion order.
        self._members: dict[str, tuple[str, object]] = {}

    def join(self, alias: str, member: object) -> None:
        """Add ``member`` as ``alias``; raise ``AliasTaken`` if the alias is in use."""
        # TODO: under the lock, refuse a taken alias (compare alias_key), else add the member.
        raise NotImplementedError("exercise registry: replace this line with your code")
        # END TODO

    def leave(self, alias: str) -> bool:
        """Remove the member with ``alias``; True if there was one."""
        # TODO: under the lock, remove the entry for alias_key(alias) if there is one.
        raise NotImplementedError("exercise registry: replace this line with your code")
        # END TODO

    def aliases(self) -> list[str]:
        """The aliases online, as typed, in the order they joined."""
        # TODO: under the lock, return a new list of the aliases.
        raise NotImplementedError("exercise registry: replace this line with your code")
        # END TODO

    def members(self) -> list[object]:
        """The members online, in the order they joined (a copy: safe to loop over)."""
        # TODO: under the lock, return a new list of the members.
        raise NotImplementedError("exercise registry: replace this line with your code")
        # END TODO
