"""Exercise 06 · broadcast: send alice's message to everyone but alice.

When alice says something, the server relays it to every other member of the
chat. Each member (one per connection) has a ``deliver(frame)`` method that
*queues* the frame for that client and returns at once: True if it was queued,
False if that client has fallen so far behind that its queue is full. The
server disconnects those slow clients afterwards, so a broadcast must go on to
the others and report who they were.

Write ``broadcast(members, frame, sender)``: call ``deliver(frame)`` on every
member except ``sender`` (``sender`` may be None: then everyone gets it), in
the order given, and return the list of members whose ``deliver`` returned
False. Tell the sender apart by identity (``is``), not by ``==``: two members
can be equal without being the same connection.

Example, alice speaking to alice, bob and carol while carol is too slow::

    broadcast([alice, bob, carol], frame, sender=alice)   # -> [carol]
    # bob.deliver(frame) -> True, carol.deliver(frame) -> False, alice: not called

Your function is plugged into a real chatlab server by the tests.
Check it with ``chatlab exercises check broadcast``.
"""

from __future__ import annotations

from typing import Iterable, Protocol


class Member(Protocol):
    def deliver(self, frame: bytes) -> bool:
        """Queue ``frame`` for this client; False if its queue is full (it is too slow)."""


def broadcast(members: Iterable[Member], frame: bytes, sender: Member | None = None) -> list[Member]:
    """Deliver ``frame`` to every member but ``sender``; return those too slow to take it."""
    # TODO: deliver to everyone but the sender (compare with `is`), collect those that return False.
    raise NotImplementedError("exercise broadcast: replace this line with your code")
    # END TODO
