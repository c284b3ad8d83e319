"""The asyncio chat server: one thread, one event loop, every client in it.

Same protocol, same limits, same behaviour and same API for callers as the
threaded :class:`~chatlab.server.ChatServer`; only the way it waits differs.
It reuses the sans-I/O pieces (:mod:`chatlab.protocol` decodes and encodes,
:class:`~chatlab.registry.Registry` keeps the aliases and the order of
broadcasts), so what is left here is only I/O.

Why it is faster, in three ideas a learner can measure with ``chatlab bench``:

1. **No thread per client.** The event loop asks the kernel which sockets are
   ready (one ``epoll`` call for all of them) and runs the callbacks of
   :class:`AsyncioConnection`; no locks, no context switches between threads.
2. **Batch what one read brings.** A publisher's ``recv()`` often holds many
   frames. They are relayed to each peer as *one* blob, so a hundred frames
   cost each peer one append instead of a hundred.
3. **One write per wakeup.** Delivering only appends to a peer's pending list.
   Once per turn of the loop, :meth:`AsyncioChatServer._flush` writes each
   peer's pending bytes with one ``transport.write()``: one ``send()`` system
   call, however many messages it carries.

Invariants: every callback runs in the loop's thread, so no state here needs
a lock (the registry's own lock is only taken, never contended); every way a
connection ends goes through :meth:`AsyncioConnection.close` or
:meth:`AsyncioConnection._say_last`; memory per client stays bounded by
``max_outbox_bytes`` (counting what waits in our list *and* in the transport).

    >>> from chatlab import ChatClient
    >>> with AsyncioChatServer(port=0) as server:
    ...     with ChatClient.connect(*server.address, "alice") as alice:
    ...         server.online()
    ['alice']
"""

from __future__ import annotations

import asyncio
import logging
import threading

from .errors import BadMessage, ProtocolError
from .events import CLIENT_EVENTS, Error, Event, Hello, Left, Message, Refused, Say, Shutdown
from .protocol import DEFAULT_HOST, DEFAULT_PORT, Decoder, encode, validate_alias
from .registry import JoinRefused
from .server import _listen, _tune
from .serving import ServerBase

__all__ = ["AsyncioChatServer", "AsyncioConnection"]

log = logging.getLogger("chatlab.server")

#: After a final notice (error, refusal), how long to wait for the client to
#: close its side before we close ours (see chatlab.connection.LINGER_SECONDS).
LINGER_SECONDS = 2.0

# The life of a connection.
_HANDSHAKE, _CHAT, _ENDING, _CLOSED = "handshake", "chat", "ending", "closed"


def new_event_loop(use_uvloop: bool | None = None) -> asyncio.AbstractEventLoop:
    """Return a new event loop: uvloop's if it is installed (or ``use_uvloop`` is True), else asyncio's.

    uvloop is the same API on libuv, written in Cython: the callbacks below
    run unchanged, with less Python between the kernel and them.
    """
    if use_uvloop is not False:
        try:
            import uvloop
        except ImportError:
            if use_uvloop:
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


class AsyncioChatServer(ServerBase):
    """A chat server on one asyncio event loop, run in a background thread.

    The API for callers and the limits are :class:`~chatlab.serving.ServerBase`'s,
    as for :class:`~chatlab.server.ChatServer`; one more keyword, ``use_uvloop``
    (None: when installed).
    """

    def __init__(
        self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, use_uvloop: bool | None = None, **limits
    ) -> None:
        super().__init__(host, port, **limits)
        self.use_uvloop = use_uvloop
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[AsyncioConnection] = set()
        self._count = 0
        self._dirty: list[AsyncioConnection] = []  # connections with something to flush
        self._flush_scheduled = False
        self._started = threading.Event()

    # -- lifecycle (called from the caller's thread) ----------------------

    def start(self) -> AsyncioChatServer:
        """Bind, listen and run the event loop in a background thread; return self.

        Raises ``OSError`` (for example "Address already in use") if it cannot listen.
        """
        if self._listener is not None:
            raise RuntimeError("server already started")
        self._listener = _listen(self.host, self.port)  # here, so errors reach the caller
        self.host, self.port = self._listener.getsockname()[:2]
        self.loop = new_event_loop(self.use_uvloop)
        self._thread = threading.Thread(target=self._run_loop, name="chatlab-asyncio", daemon=True)
        self._thread.start()
        self._started.wait()
        log.debug("server: listening on %s:%d", self.host, self.port)
        return self

    def stop(self, reason: str = "server shutting down", timeout: float = 5.0) -> None:
        """Stop: no new clients, a shutdown notice to everyone, the loop's thread joined.

        Clients get ``timeout / 2`` seconds to read the notice and close;
        connections still open then are closed. Safe to call more than once.
        """
        if self._stopping.is_set():
            self._stopped.wait(timeout)
            return
        if threading.current_thread() is self._thread:
            raise RuntimeError("stop() must be called from another thread than the server's loop")
        self._stopping.set()
        log.info("server: stopping (%s)", reason)
        if self._thread is not None:
            assert self.loop is not None
            asyncio.run_coroutine_threadsafe(self._shutdown(reason, timeout), self.loop)
            self._thread.join()
        elif self._listener is not None:
            self._listener.close()
        log.info("server: stopped")
        self._stopped.set()

    # -- the loop's thread --------------------------------------------------

    def _run_loop(self) -> None:
        loop = self.loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._no_connections = asyncio.Event()  # before the first connection can come in
            self._no_connections.set()
            self._tcp_server = loop.run_until_complete(
                loop.create_server(self._new_connection, sock=self._listener, backlog=1024)
            )
            self._started.set()
            loop.run_forever()
        finally:
            self._started.set()  # even if create_server failed: start() must not hang
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _new_connection(self) -> AsyncioConnection:
        self._count += 1
        conn = AsyncioConnection(self, self._count)
        self._connections.add(conn)
        self._no_connections.clear()
        return conn

    async def _shutdown(self, reason: str, timeout: float) -> None:
        try:
            self._tcp_server.close()  # no new connections
            self.registry.close()  # no joins, no broadcasts, no "left" notices from now on
            for conn in list(self._connections):
                conn.finish(Shutdown(reason))
            await self._wait_for_no_connections(timeout / 2)  # polite: clients read the notice and close
            for conn in list(self._connections):
                conn.close("server shutting down", announce=False)
            await self._wait_for_no_connections(timeout / 2)
        finally:
            assert self.loop is not None
            self.loop.stop()

    async def _wait_for_no_connections(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._no_connections.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # -- called by connections (always in the loop's thread) ---------------

    def _forget(self, conn: AsyncioConnection) -> None:
        self._connections.discard(conn)
        if not self._connections:
            self._no_connections.set()

    def _broadcast(self, frame: bytes, exclude: AsyncioConnection | None = None) -> None:
        """Queue ``frame`` for every member but ``exclude``; drop those too slow to take it."""
        self._drop_slow(self.registry.broadcast(frame, exclude=exclude))

    def _drop_slow(self, members: list) -> None:
        for member in members:
            member.close("too slow")

    def _schedule_flush(self, conn: AsyncioConnection) -> None:
        """Remember that ``conn`` has pending bytes; flush everyone once, at the next turn of the loop."""
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            assert self.loop is not None
            # call_soon runs after every callback of this turn: all the reads the
            # kernel reported together are relayed before anything is written.
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Write each dirty connection's pending bytes: one write per connection per turn."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.flush()


class AsyncioConnection(asyncio.Protocol):
    """One client, as asyncio protocol callbacks: bytes in, events out, frames queued.

    asyncio calls :meth:`connection_made`, :meth:`data_received`,
    :meth:`eof_received` and :meth:`connection_lost`; the registry calls
    :meth:`deliver`; the server calls :meth:`flush`, :meth:`finish` and :meth:`close`.
    """

    def __init__(self, server: AsyncioChatServer, number: int) -> None:
        self.server = server
        self.number = number
        self.alias: str | None = None
        self.transport: asyncio.Transport | None = None
        self._decoder = Decoder(accept=CLIENT_EVENTS, max_frame_size=server.max_frame_size)
        self._state = _HANDSHAKE
        self._pending: list[bytes] = []  # frames queued since the last flush
        self._pending_bytes = 0
        self._unsent = 0  # bytes still in the transport's buffer at the last flush
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"conn {self.number}" + (f" ({self.alias})" if self.alias else "")

    # -- asyncio's callbacks --------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        _tune(transport.get_extra_info("socket"))  # the threaded server's socket options: no Nagle, keepalive
        self._timer = self.server.loop.call_later(self.server.handshake_timeout, self._handshake_timed_out)

    def data_received(self, data: bytes) -> None:
        if self._state in (_HANDSHAKE, _CHAT):
            self._decoder.feed(data)
            self._read_events()
        # _ENDING: we have said our last word; read and drop until the client closes.

    def eof_received(self) -> bool:
        if self._state in (_HANDSHAKE, _CHAT):
            self._decoder.feed(b"")  # a frame cut short raises TruncatedFrame in _read_events
            self._read_events()
        if self._state == _ENDING:
            self.transport.close()  # our last frame is queued: close once it is sent
        else:
            self.close("quit")
        return True  # we close the transport ourselves

    def connection_lost(self, exc: Exception | None) -> None:
        self.close("connection lost")
        if self._timer is not None:
            self._timer.cancel()
        self.server._forget(self)

    # -- reading ----------------------------------------------------------

    def _read_events(self) -> None:
        """Handle every complete event received so far; relay the messages as one blob."""
        batch: list[bytes] = []
        try:
            for event in self._decoder:
                if self._state == _HANDSHAKE:
                    if not self._handshake(event):
                        return  # refused: nothing more to read
                    continue
                if not isinstance(event, Say):
                    raise BadMessage(f"unexpected {event.TYPE!r} message after the handshake")
                if not event.text:
                    raise BadMessage("a 'say' message must have some text")
                batch.append(encode(Message(self.alias, event.text)))
        except ProtocolError as exc:
            self._relay(batch)  # what came before the bad frame was fine
            reason = f"protocol error: {exc}"
            self._log(logging.WARNING, reason)
            self._say_last(Error(str(exc)), reason)
            return
        self._relay(batch)

    def _relay(self, batch: list[bytes]) -> None:
        if batch:
            self.server._broadcast(b"".join(batch), exclude=self)

    def _handshake(self, hello: Event) -> bool:
        """Join the chat as ``hello.alias``; True if we are in."""
        if not isinstance(hello, Hello):
            raise BadMessage(f"the first message must be 'hello', not {hello.TYPE!r}")
        self._timer.cancel()
        self._state = _CHAT  # from here deliver() queues: the Welcome comes first
        try:
            slow = self.server.registry.join(self, validate_alias(hello.alias))
        except (ValueError, JoinRefused) as exc:
            self._log(logging.INFO, f"refused {hello.alias!r}: {exc}")
            self._say_last(Refused(str(exc)), "refused")
            return False
        self.alias = hello.alias
        self._log(logging.INFO, "joined")
        self.server._drop_slow(slow)
        return True

    def _handshake_timed_out(self) -> None:
        if self._state == _HANDSHAKE:
            self._log(logging.INFO, "handshake timed out")
            self._say_last(Error("handshake timed out"), "handshake timed out")

    # -- writing ------------------------------------------------------------

    def deliver(self, frame: bytes) -> bool:
        """Queue ``frame`` for the next flush; False if this client is too far behind."""
        if self._state != _CHAT:
            return True  # ending: dropped silently, as the threaded server's closed outbox does
        if self._pending_bytes + self._unsent + len(frame) > self.server.max_outbox_bytes:
            self._unsent = self.transport.get_write_buffer_size()  # it may have drained since
            if self._pending_bytes + self._unsent + len(frame) > self.server.max_outbox_bytes:
                return False
        if not self._pending:
            self.server._schedule_flush(self)
        self._pending.append(frame)
        self._pending_bytes += len(frame)
        return True

    def flush(self) -> None:
        """Hand everything pending to the transport in one write."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if not self.transport.is_closing():  # uvloop raises on a write to a closing transport
            self.transport.write(data)
            self._unsent = self.transport.get_write_buffer_size()

    # -- ending ---------------------------------------------------------------

    def finish(self, last: Event) -> None:
        """Send ``last`` after everything queued, then half-close; the client closes next."""
        if self._state == _CHAT:
            self._send_last(last)
        elif self._state == _HANDSHAKE:
            self.close("server shutting down", announce=False)

    def _say_last(self, event: Event, reason: str) -> None:
        """Send a final ``event`` (refusal, error), linger until the client closes.

        Others are told at once that the client left, with ``reason``. Closing
        while the client still sends would reset the connection, and a reset
        can destroy the notice before the client reads it.
        """
        self._leave(reason, announce=True)
        self._send_last(event)
        self._timer = self.server.loop.call_later(LINGER_SECONDS, self.close, "linger timed out", False)

    def _send_last(self, event: Event) -> None:
        self._pending.append(encode(event))
        self._state = _ENDING  # no more deliveries
        self.flush()
        if not self.transport.is_closing() and self.transport.can_write_eof():
            self.transport.write_eof()  # sent once the buffer is: the client sees the notice, then EOF

    def close(self, reason: str, announce: bool = True) -> None:
        """Close now, once: leave the chat, tell the others, drop what is pending.

        Safe to call any number of times; only the first call acts.
        """
        if self._state == _CLOSED:
            return
        self._state = _CLOSED
        self._pending.clear()
        self._leave(reason, announce)
        self.transport.abort()  # not close(): that would wait for a slow reader to read everything

    def _leave(self, reason: str, announce: bool) -> None:
        """Leave the registry; if we were in it, log it and tell the others."""
        if self.alias is None or not self.server.registry.leave(self, self.alias):
            return
        self._log(logging.INFO, f"left ({reason})")
        if announce:
            self.server._broadcast(encode(Left(self.alias, reason)))

    def _log(self, level: int, what: str) -> None:
        log.log(level, "server: %r %s", self, what)
