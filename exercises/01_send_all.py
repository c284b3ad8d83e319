"""Exercise 01 · send_all: send every byte, however few each ``send()`` takes.

``sock.send(data)`` hands the operating system *some* of ``data`` and returns
how many bytes it took: maybe all of them, maybe 3. Whatever is left over is
yours to send again. ``socket.sendall`` does this loop for you; here you write
it yourself, to see why it exists.

Write ``send_all(sock, data)``: call ``sock.send`` until every byte of
``data`` has been sent, in order, then return ``None``.

Example, alice greeting bob through a socket that takes at most 3 bytes per call::

    send_all(sock, b"hello bob")
    # sock.send(b"hello bob")  -> 3   ("hel")
    # sock.send(b"lo bob")     -> 3   ("lo ")
    # sock.send(b"bob")        -> 3   ("bob")   done

Check it with ``chatlab exercises check send_all``.
"""

from __future__ import annotations

import socket


def send_all(sock: socket.socket, data: bytes) -> None:
    """Send all of ``data`` on ``sock`` with ``sock.send``, looping until none is left."""
    # TODO: call sock.send until every byte of data is sent (do not call sock.sendall).
    raise NotImplementedError("exercise send_all: replace this line with your code")
    # END TODO
