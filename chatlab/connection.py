"""One client's connection, from accept to close, inside the threaded server.

Each connection has two threads:

* the **reader** (this object's main thread) does the handshake, then reads
  frames and hands each ``Say`` to the registry for broadcast;
* the **writer** sends whatever is pending in the connection's outbox, all
  at once, so a client that reads slowly only ever delays itself.

Every way a connection ends (EOF, reset, bad frame, handshake timeout, too
slow, server stop) goes through :meth:`ClientConnection.close`, which runs
once: it removes the client from the registry, tells the others it left, and
shuts the socket down so that both threads wake up. Only the reader closes
the socket, after the writer has finished, in a ``finally``: closing a socket
that another thread is blocked on is the bug that makes naive servers hang.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

from .errors import BadMessage, ProtocolError
from .events import CLIENT_EVENTS, Error, Event, Hello, Left, Message, Refused, Say
from .outbox import Outbox, write_all
from .protocol import Decoder, encode, validate_alias
from .registry import JoinRefused

if TYPE_CHECKING:
    from .server import ChatServer

__all__ = ["ClientConnection"]

log = logging.getLogger("chatlab.server")

RECV_SIZE = 64 * 1024
#: After sending a final notice (error, shutdown), how long to wait for the
#: client to close its side before closing ours. Closing with unread input
#: would send a reset, and a reset can destroy the notice before it is read.
LINGER_SECONDS = 2.0


class ClientConnection:
    """One accepted socket: handshake, reading, writing and the one way out.

    For the server: :meth:`start`, :meth:`finish` (close politely after a
    last message), :meth:`close` (close now) and :meth:`join`.
    """

    def __init__(self, server: ChatServer, sock: socket.socket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number
        self.alias: str | None = None
        self.outbox = Outbox(server.max_outbox_bytes)
        self._decoder = Decoder(accept=CLIENT_EVENTS, max_frame_size=server.max_frame_size)
        self._close_lock = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._run, name=f"chatlab-conn-{number}", daemon=True)
        self._writer = threading.Thread(target=self._write_all, name=f"chatlab-conn-{number}-writer", daemon=True)

    def __repr__(self) -> str:
        return f"conn {self.number}" + (f" ({self.alias})" if self.alias else "")

    # -- for the server -------------------------------------------------

    def start(self) -> None:
        """Start the connection's reader thread (it starts the writer after the handshake)."""
        self._reader.start()

    def deliver(self, frame: bytes) -> bool:
        """Queue ``frame`` for this client; False if it is too far behind (see :class:`Outbox`)."""
        return self.outbox.put(frame)

    def finish(self, last: Event) -> None:
        """Send ``last`` after everything already queued, then close politely.

        The writer sends it and shuts down our sending side; the client sees
        the notice and then EOF, and closes, which ends the reader.
        """
        if self._writer.is_alive():
            self.outbox.put(encode(last))
            self.outbox.close()
        else:  # still in the handshake: nothing of ours is queued yet
            self.close("server shutting down", announce=False)

    def close(self, reason: str, announce: bool = True) -> None:
        """Close now, once, whatever the caller: leave the chat, tell the others, wake both threads.

        Safe to call from any thread, any number of times; only the first call acts.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self.outbox.close(discard=True)
        self._leave(reason, announce)
        try:
            # Wakes a recv() or sendall() blocked in our threads; close() would not.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already disconnected

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the connection's threads to end; True if they did."""
        self._reader.join(timeout)
        return not self._reader.is_alive()

    # -- the reader thread ----------------------------------------------

    def _run(self) -> None:
        reason = "quit"
        try:
            if self._handshake():
                self._read_messages()
        except TimeoutError:
            reason = "handshake timed out"
            self._say_last(Error(reason), reason)
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            self._log(logging.WARNING, reason)
            self._say_last(Error(str(exc)), reason)
        except OSError as exc:
            reason = "connection lost"
            self._log(logging.DEBUG, f"connection lost: {exc}")
        finally:
            self.close(reason)
            if self._writer.is_alive():
                self._writer.join()
            self.sock.close()
            self.server._forget(self)

    def _first_event(self) -> Event | None:
        """Read until the client's first event; None if it closed without a word."""
        while (event := self._decoder.next_event()) is None:
            if self._decoder.at_eof:
                return None
            self._decoder.feed(self.sock.recv(RECV_SIZE))  # b"" tells the decoder the stream ended
        return event

    def _handshake(self) -> bool:
        """Read the ``Hello``, within the handshake timeout; True once the client is in the chat."""
        self.sock.settimeout(self.server.handshake_timeout)
        hello = self._first_event()
        if hello is None:
            return False  # connected and left without a word
        if not isinstance(hello, Hello):
            raise BadMessage(f"the first message must be 'hello', not {hello.TYPE!r}")
        self.sock.settimeout(None)  # a chat client may stay quiet for hours
        try:
            # Named before joining, so that a close() from another thread can always find us.
            self.alias = validate_alias(hello.alias)
            slow = self.server.registry.join(self, self.alias)
        except (ValueError, JoinRefused) as exc:
            self._log(logging.INFO, f"refused {hello.alias!r}: {exc}")
            self.alias = None
            self._say_last(Refused(str(exc)), "refused")
            return False
        self._writer.start()
        self._log(logging.INFO, "joined")
        self.server._drop_slow(slow)
        return True

    def _read_messages(self) -> None:
        """Relay the client's messages until EOF.

        Everything one ``recv()`` brought is relayed as *one* broadcast: a
        client that sends a hundred messages at once costs each peer one
        append and one wake-up of its writer, not a hundred.
        """
        while True:
            frames = []
            try:
                for event in self._decoder:  # the first time round: what came with the hello
                    if not isinstance(event, Say):
                        raise BadMessage(f"unexpected {event.TYPE!r} message after the handshake")
                    if not event.text:
                        raise BadMessage("a 'say' message must have some text")
                    frames.append(encode(Message(self.alias, event.text)))
            finally:  # the messages before a bad frame are relayed too
                if frames:
                    slow = self.server.registry.broadcast(b"".join(frames), exclude=self)
                    self.server._drop_slow(slow)
            if self._decoder.at_eof:
                return
            self._decoder.feed(self.sock.recv(RECV_SIZE))  # b"" tells the decoder the stream ended

    def _say_last(self, event: Event, reason: str) -> None:
        """Send a final ``event``, then linger until the client closes (or a timeout).

        Used for refusals and errors, the last thing the client hears. Others
        are told at once that the client left, with ``reason``.
        """
        if self._writer.is_alive():  # in the chat: the notice goes after what is queued
            self._leave(reason, announce=True)
            self.outbox.put(encode(event))
            self.outbox.close()
            self._writer.join(LINGER_SECONDS)
        else:  # still in the handshake: there is no writer, send it ourselves
            try:
                self.sock.settimeout(LINGER_SECONDS)
                self.sock.sendall(encode(event))
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                return
        self._linger()

    def _linger(self) -> None:
        """Read and drop input until the client closes, for at most ``LINGER_SECONDS``."""
        deadline = time.monotonic() + LINGER_SECONDS
        try:
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(RECV_SIZE):
                    return
        except OSError:
            return

    # -- the writer thread ----------------------------------------------

    def _write_all(self) -> None:
        """The writer thread: send what is pending until the outbox is closed (see :func:`write_all`)."""
        try:
            write_all(self.sock, self.outbox)
        except OSError:
            self.close("connection lost")
        except Exception:  # a bug: end this connection visibly rather than leave it hanging
            log.exception("server: %r writer failed", self)
            self.close("server error")

    # -- shared -----------------------------------------------------------

    def _leave(self, reason: str, announce: bool) -> None:
        """Leave the registry; if we were in it, log it and tell the others."""
        if self.alias is None or not self.server.registry.leave(self, self.alias):
            return
        self._log(logging.INFO, f"left ({reason})")
        if announce:
            frame = encode(Left(self.alias, reason))
            self.server._drop_slow(self.server.registry.broadcast(frame))

    def _log(self, level: int, what: str) -> None:
        log.log(level, "server: %r %s", self, what)
