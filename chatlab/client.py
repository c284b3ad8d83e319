"""The client library: connect, handshake, say, receive, close.

The terminal client and the notebook chat panels are both built on it.

    >>> from chatlab import ChatServer, ChatClient, Message
    >>> with ChatServer(port=0) as server:
    ...     alice = ChatClient.connect(*server.address, "alice")
    ...     bob = ChatClient.connect(*server.address, "bob")
    ...     alice.say("hi bob")
    ...     bob.receive(timeout=5)
    ...     alice.close(); bob.close()
    Message(alias='alice', text='hi bob')

Events arrive in a background thread. Either pass ``on_event`` to have each
one handed to a callback in that thread, or read them with :meth:`receive`
or a ``for`` loop. The connection ends when the server closes it, the network
fails, or :meth:`close` is called; :attr:`close_reason` says which.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from typing import Callable, Iterator

from .errors import AliasRefused, BadMessage, ConnectionClosed, ProtocolError
from .events import SERVER_EVENTS, Event, Hello, Refused, Say, Welcome
from .framing import HEADER_SIZE, MAX_FRAME_SIZE
from .protocol import DEFAULT_HOST, DEFAULT_PORT, Decoder, encode, validate_alias

__all__ = ["ChatClient"]

log = logging.getLogger("chatlab.client")

RECV_SIZE = 64 * 1024
_END = object()  # put in the queue when the connection ends


class ChatClient:
    """One user's connection to a chatlab server, after a successful handshake.

    Make one with :meth:`connect`. For callers: :meth:`say`, :meth:`receive`,
    iteration, :meth:`close`, :meth:`wait_closed`, and the attributes
    :attr:`alias`, :attr:`online` (who was there when we joined), :attr:`closed`
    and :attr:`close_reason`.
    """

    def __init__(
        self,
        sock: socket.socket,
        decoder: Decoder,
        welcome: Welcome,
        on_event: Callable[[Event], object] | None = None,
        on_close: Callable[[str], object] | None = None,
    ) -> None:
        self.alias = welcome.alias
        self.online = welcome.online
        self.close_reason: str | None = None
        self._sock = sock
        self._decoder = decoder
        self._on_event = on_event
        self._on_close = on_close
        self._events: queue.Queue = queue.Queue()
        self._send_lock = threading.Lock()
        self._closing = False
        self._ended = threading.Event()
        self._receiver = threading.Thread(target=self._receive_all, name=f"chatlab-client-{self.alias}", daemon=True)
        self._receiver.start()

    @classmethod
    def connect(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        alias: str = "",
        *,
        timeout: float = 10.0,
        on_event: Callable[[Event], object] | None = None,
        on_close: Callable[[str], object] | None = None,
    ) -> ChatClient:
        """Connect to ``host:port`` and join the chat as ``alias``.

        ``timeout`` bounds the connection and the handshake. Raises
        ``ValueError`` for an alias the protocol forbids (before connecting),
        ``OSError`` if the server cannot be reached (``ConnectionRefusedError``
        if nothing listens there), :class:`~chatlab.errors.AliasRefused` if the
        server says no, and :class:`~chatlab.errors.ConnectionClosed` if it
        hangs up during the handshake.
        """
        validate_alias(alias)
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(encode(Hello(alias)))
            decoder = Decoder(SERVER_EVENTS)
            reply = _first_event(sock, decoder)
            if isinstance(reply, Refused):
                raise AliasRefused(alias, reply.reason)
            if not isinstance(reply, Welcome):
                raise BadMessage(f"expected 'welcome' or 'refused', got {reply.TYPE!r}")
            sock.settimeout(None)
        except BaseException:
            sock.close()
            raise
        return cls(sock, decoder, reply, on_event, on_close)

    # -- sending ----------------------------------------------------------

    def say(self, text: str) -> None:
        """Send a chat message to everyone else.

        Raises ``ValueError`` for an empty or over-long message (nothing is
        sent) and :class:`~chatlab.errors.ConnectionClosed` if the connection is gone.
        """
        if not isinstance(text, str) or not text:
            raise ValueError("a message must be a non-empty string")
        frame = encode(Say(text))
        if len(frame) - HEADER_SIZE > MAX_FRAME_SIZE:
            raise ValueError(f"message too long: {len(frame)} bytes encoded, the limit is {MAX_FRAME_SIZE}")
        with self._send_lock:  # one frame at a time, even from several threads
            if self._closing or self._ended.is_set():
                raise ConnectionClosed(self.close_reason or "connection closed")
            try:
                self._sock.sendall(frame)
            except OSError as exc:
                raise ConnectionClosed(f"connection lost: {exc}") from None

    # -- receiving --------------------------------------------------------

    def receive(self, timeout: float | None = None) -> Event:
        """Return the next event from the server.

        Raises ``TimeoutError`` if none comes within ``timeout`` seconds and
        :class:`~chatlab.errors.ConnectionClosed` once the connection has ended
        and every event has been taken. Not available with ``on_event``.
        """
        if self._on_event is not None:
            raise RuntimeError("events go to on_event; receive() is for clients without it")
        try:
            item = self._events.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event within {timeout} s") from None
        if item is _END:
            self._events.put(_END)  # later calls see the end too
            raise ConnectionClosed(self.close_reason or "connection closed")
        return item

    def __iter__(self) -> Iterator[Event]:
        """Yield events until the connection ends."""
        while True:
            try:
                yield self.receive()
            except ConnectionClosed:
                return

    def _receive_all(self) -> None:
        """The receive thread: read, decode, dispatch, until EOF or an error."""
        reason = "server closed the connection"
        try:
            for event in self._decoder:  # anything that came with the welcome
                self._dispatch(event)
            while True:
                data = self._sock.recv(RECV_SIZE)
                self._decoder.feed(data)
                for event in self._decoder:
                    self._dispatch(event)
                if not data:
                    break
        except ProtocolError as exc:
            reason = f"protocol error from server: {exc}"
        except OSError as exc:
            reason = f"connection lost: {exc.strerror or exc}"
        if self._closing:
            reason = "closed"
        else:
            try:  # the server is done with us: say we are done too, so it can close at once
                self._sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self.close_reason = reason
        self._ended.set()
        self._events.put(_END)
        if self._on_close is not None:
            self._call(self._on_close, reason)

    def _dispatch(self, event: Event) -> None:
        if self._on_event is None:
            self._events.put(event)
        else:
            self._call(self._on_event, event)

    def _call(self, callback: Callable, argument: object) -> None:
        try:
            callback(argument)
        except Exception:  # a bug in a callback must not end the connection
            log.exception("client %s: error in callback %r", self.alias, callback)

    # -- closing ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection has ended (whoever ended it)."""
        return self._ended.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Wait until the connection has ended; True if it has."""
        return self._ended.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Leave the chat: stop sending, let the server close, release the socket.

        Sends EOF first (a half-close), so every message already said reaches
        the server; then waits up to ``timeout`` for the server to close its
        side, then closes anyway. Safe to call more than once, from any thread.
        """
        with self._send_lock:
            first = not self._closing
            self._closing = True
        if first:
            try:
                self._sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the connection is already gone
        if threading.current_thread() is self._receiver:
            return  # called from a callback: the receive thread ends by itself
        if not self._ended.wait(timeout):
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the receive thread
            except OSError:
                pass
        self._receiver.join()
        self._sock.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f"closed: {self.close_reason}" if self.closed else "open"
        return f"<ChatClient {self.alias!r} {state}>"


def _first_event(sock: socket.socket, decoder: Decoder) -> Event:
    """Read until the first event; raise ConnectionClosed if the server hangs up first."""
    while True:
        event = decoder.next_event()
        if event is not None:
            return event
        data = sock.recv(RECV_SIZE)
        if not data:
            decoder.feed(b"")
            decoder.next_event()  # raises TruncatedFrame if it hung up mid-frame
            raise ConnectionClosed("server closed the connection during the handshake")
        decoder.feed(data)
