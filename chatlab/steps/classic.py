"""Step 1, classic: the chat most socket tutorials build, with every defect kept on purpose.

One thread per client, an ``alias?`` prompt, ``recv(1024)``, two lists. It
works in a demo with two friends on one machine, and fails in ten ways that
the course reproduces one by one (the ``BUG n`` comments; tests/test_steps.py
shows each on real sockets). Do not copy it: read it, break it, then diff it
with ``framed.py``.

Run it: ``chatlab server --step classic``; talk to it with
``python -m chatlab.steps.classic_client`` or ``nc 127.0.0.1 5500``.
It cannot be stopped cleanly (BUG 5), so ``chatlab.steps.start("classic")``
runs it in a process of its own.
"""

import argparse
import signal
import socket
import threading

clients = []  # BUG 8: two parallel lists, changed by many threads, no lock
aliases = []


def log(text):
    print(f"classic server: {text}", flush=True)


def broadcast(message, sender=None):
    """Send ``message`` to every client but ``sender``, one after the other."""
    for client in clients:
        if client is not sender:
            # BUG 7: blocks while this client is not reading, and everyone waits.
            # BUG 3, 4: a dead client's socket raises here, in the *caller's* thread.
            client.send(message)


def handle(client, number):
    """The client's thread: relay what it sends to everyone else."""
    while True:
        try:
            message = client.recv(1024)  # BUG 1: a message may come in pieces, or glued to the next
            log(f"conn {number} received {message!r}")
            broadcast(message, client)  # BUG 2: b"" means "the client left"; this relays it forever
        except Exception:
            index = clients.index(client)
            clients.remove(client)
            client.close()
            alias = aliases[index]
            aliases.remove(alias)  # BUG 8: removes the *first* equal alias, maybe someone else's
            log(f"conn {number} ({alias}) left")
            broadcast(f"{alias} left the chat".encode())
            break


def accept_forever(server):
    """Accept clients, ask each for an alias, start its thread."""
    number = 0
    while True:
        client, _ = server.accept()
        number += 1
        client.send(b"alias?")
        alias = client.recv(1024).decode()  # BUG 6: one silent client here keeps everyone out
        aliases.append(alias)  # BUG 8: duplicates welcome
        clients.append(client)
        log(f"conn {number} joined as {alias!r}")
        broadcast(f"{alias} joined the chat".encode())  # BUG 4: an error here ends this loop
        threading.Thread(target=handle, args=(client, number)).start()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chatlab.steps.classic", description=__doc__.splitlines()[0])
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
