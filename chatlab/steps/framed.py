"""Step 2, framed: the classic chat speaking chatlab's protocol, one frame per message.

What changed since ``classic.py`` (``diff classic.py framed.py``):

* every message is a frame: a 4-byte length, then a JSON event
  (:mod:`chatlab.framing`, :mod:`chatlab.protocol`), so two quick messages can
  no longer merge and a long one can no longer be cut (fixes BUG 1);
* the stream's end (``recv()`` returning ``b""``) ends the client's loop
  instead of being relayed forever (fixes BUG 2): a decoder has to be told;
* the server, not the client, puts the alias on each message.

Every other defect is still here. ``chatlab client`` can talk to it:
``chatlab server --step framed`` then ``chatlab client``.
"""

import argparse
import signal
import socket
import threading

from chatlab.errors import ProtocolError
from chatlab.events import CLIENT_EVENTS, Joined, Left, Message, Welcome
from chatlab.protocol import Decoder, encode

clients = []  # BUG 8: two parallel lists, changed by many threads, no lock
aliases = []


def log(text):
    print(f"framed server: {text}", flush=True)


def broadcast(event, sender=None):
    """Send ``event`` as one frame to every client but ``sender``, one after the other."""
    frame = encode(event)
    for client in clients:
        if client is not sender:
            # BUG 7: blocks while this client is not reading, and everyone waits.
            # BUG 3, 4: a dead client's socket raises here, in the *caller's* thread.
            client.sendall(frame)


def incoming(client):
    """Yield the client's events as they arrive; stop when the client closes."""
    decoder = Decoder(accept=CLIENT_EVENTS)
    while True:
        data = client.recv(4096)
        decoder.feed(data)  # any piece of a frame: the decoder keeps it until the rest comes
        yield from decoder
        if not data:  # b"": the client closed its side; nothing more will come
            return


def handle(client, number, alias, events):
    """The client's thread: relay each ``say`` to everyone else."""
    try:
        for event in events:
            log(f"conn {number} ({alias}) received {event!r}")
            broadcast(Message(alias, event.text), client)
    except (OSError, ProtocolError):
        pass
    index = clients.index(client)
    clients.remove(client)
    client.close()
    alias = aliases[index]
    aliases.remove(alias)  # BUG 8: removes the *first* equal alias, maybe someone else's
    log(f"conn {number} ({alias}) left")
    broadcast(Left(alias))


def accept_forever(server):
    """Accept clients, read each one's hello, start its thread."""
    number = 0
    while True:
        client, _ = server.accept()
        number += 1
        events = incoming(client)
        hello = next(events)  # BUG 6: one silent client here keeps everyone out
        client.sendall(encode(Welcome(hello.alias, tuple(aliases))))
        aliases.append(hello.alias)  # BUG 8: duplicates welcome
        clients.append(client)
        log(f"conn {number} joined as {hello.alias!r}")
        broadcast(Joined(hello.alias), client)  # BUG 4: an error here ends this loop
        threading.Thread(target=handle, args=(client, number, hello.alias, events)).start()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chatlab.steps.framed", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5500)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl+C, even when started in the background

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # BUG 10: no SO_REUSEADDR, so a quick restart fails with "Address already in use".
    server.bind((args.host, args.port))
    server.listen()
    log("listening on %s:%d" % server.getsockname())
    try:
        accept_forever(server)
    except KeyboardInterrupt:
        log("shutting down")
        for client in clients:
            client.close()  # BUG 5: does not wake the recv() that client's thread is blocked in
        server.close()
        for thread in threading.enumerate():  # wait for the clients' threads to finish...
            if thread is not threading.current_thread():
                thread.join()  # ...forever, for any thread still blocked in recv()


if __name__ == "__main__":
    main()
