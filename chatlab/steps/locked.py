"""Step 3, locked: one registry under a lock, and the handshake in the client's own thread.

What changed since ``framed.py`` (``diff framed.py locked.py``):

* the two lists are one dict, alias -> socket, and every thread takes ``lock``
  before it reads or changes it; a taken alias is refused (fixes BUG 8);
* the accept loop only accepts: the hello is read in the client's thread,
  with a time limit, so a silent connection keeps nobody out (fixes BUG 6);
* a send that fails drops *that* client, never the sender nor the accept loop
  (fixes BUG 3 and BUG 4).

Still here: a client that stops reading stalls every broadcast (BUG 7, and
now it holds the lock while it does), shutdown hangs (BUG 5), no
SO_REUSEADDR (BUG 10). ``chatlab.server`` fixes those.
"""

import argparse
import signal
import socket
import threading

from chatlab.errors import ProtocolError
from chatlab.events import CLIENT_EVENTS, Joined, Left, Message, Refused, Welcome
from chatlab.protocol import Decoder, encode

HANDSHAKE_TIMEOUT = 10.0

members = {}  # alias -> socket: one structure, so it cannot get out of step
lock = threading.Lock()  # held by any thread that reads or changes `members`


def log(text):
    print(f"locked server: {text}", flush=True)


def broadcast(event, sender=None):
    """Send ``event`` to every member but ``sender``; drop the members whose socket fails."""
    frame = encode(event)
    failed = []
    with lock:
        for alias, client in members.items():
            if client is not sender:
                try:
                    client.sendall(frame)  # BUG 7: blocks while this client is not reading
                except OSError:
                    failed.append(alias)
    for alias in failed:
        leave(alias, "connection lost")


def leave(alias, reason):
    """Remove ``alias`` (once) and tell the others."""
    with lock:
        client = members.pop(alias, None)
    if client is None:
        return  # someone else already did
    client.close()
    log(f"{alias} left ({reason})")
    broadcast(Left(alias, reason))


def incoming(client):
    """Yield the client's events as they arrive; stop when the client closes."""
    decoder = Decoder(accept=CLIENT_EVENTS)
    while True:
        data = client.recv(4096)
        decoder.feed(data)  # any piece of a frame: the decoder keeps it until the rest comes
        yield from decoder
        if not data:  # b"": the client closed its side; nothing more will come
            return


def handle(client, number):
    """The client's thread: handshake, then relay each ``say`` to everyone else."""
    events = incoming(client)
    try:
        client.settimeout(HANDSHAKE_TIMEOUT)
        hello = next(events)
        client.settimeout(None)
        with lock:
            taken = hello.alias in members
            if not taken:
                client.sendall(encode(Welcome(hello.alias, tuple(members))))
                members[hello.alias] = client
        if taken:
            client.sendall(encode(Refused(f"alias {hello.alias!r} is taken")))
            client.close()
            return
    except (OSError, ProtocolError, StopIteration):
        client.close()  # silent, rude or gone before saying hello
        return
    log(f"conn {number} joined as {hello.alias!r}")
    broadcast(Joined(hello.alias), client)
    try:
        for event in events:
            log(f"conn {number} ({hello.alias}) received {event!r}")
            broadcast(Message(hello.alias, event.text), client)
    except (OSError, ProtocolError):
        pass
    leave(hello.alias, "quit")


def accept_forever(server):
    """Accept clients and start a thread for each; never wait on one client here."""
    number = 0
    while True:
        client, _ = server.accept()
        number += 1
        threading.Thread(target=handle, args=(client, number)).start()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chatlab.steps.locked", description=__doc__.splitlines()[0])
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
        with lock:
            for client in members.values():
                client.close()  # BUG 5: does not wake the recv() that client's thread is blocked in
        server.close()
        for thread in threading.enumerate():  # wait for the clients' threads to finish...
            if thread is not threading.current_thread():
                thread.join()  # ...forever, for any thread still blocked in recv()


if __name__ == "__main__":
    main()
