"""Exercise 02 · recv_exactly: receive exactly ``n`` bytes, or say clearly why not.

``sock.recv(4)`` returns *at most* 4 bytes: one, two, three or four, whatever
has arrived. And when the other side has closed the connection it returns
``b""``, again and again. A reader that wants a 4-byte length prefix has to
keep calling ``recv`` until it has all 4, and has to stop at ``b""``.

Write ``recv_exactly(sock, n)``: return exactly ``n`` bytes read from
``sock``. If the connection ends first, raise ``EOFError`` with a message that
says how many bytes came, e.g. ``"connection closed after 2 of 4 bytes"``.

Example, bob receiving alice's 4-byte header that arrives in two pieces::

    recv_exactly(sock, 4)      # recv -> b"\\x00\\x00", recv -> b"\\x00\\x02"
    b'\\x00\\x00\\x00\\x02'

Check it with ``chatlab exercises check recv_exactly``.
"""

from __future__ import annotations

import socket


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Return exactly ``n`` bytes from ``sock``; raise ``EOFError`` if the stream ends first."""
    # TODO: call sock.recv until you have n bytes; b"" means the connection ended: raise EOFError.
    chunks = []
    received = 0
    while received < n:
        chunk = sock.recv(n - received)
        if not chunk:
            raise EOFError(f"connection closed after {received} of {n} bytes")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)
    # END TODO
