"""Raw-socket helpers for tests that speak the protocol by hand (or break it on purpose)."""

from __future__ import annotations

import socket

from chatlab import Decoder, Event, encode
from chatlab.events import Hello

TIMEOUT = 5.0


class RawPeer:
    """A bare socket to a server, with a decoder: for sending what a real client never would.

    >>> # peer = RawPeer(server.address); peer.send(b"garbage"); peer.expect_closed()
    """

    def __init__(self, address: tuple[str, int], timeout: float = TIMEOUT) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.decoder = Decoder()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def hello(self, alias: str) -> Event:
        """Send the handshake and return the server's reply."""
        self.send(encode(Hello(alias)))
        return self.next_event()

    def next_event(self) -> Event | None:
        """Return the next event, or None at EOF. Raises TimeoutError if the server says nothing."""
        while (event := self.decoder.next_event()) is None:
            if self.decoder.at_eof:
                return None
            self.decoder.feed(self.sock.recv(65536))
        return event

    def events_until_closed(self) -> list[Event]:
        """Every event until the server closes the connection."""
        events = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
