"""The classic tutorial's client, with its defect kept on purpose (BUG 9 of the classic design).

Two threads: one prints whatever ``recv()`` returns, one sends what you type.
When the server goes away, ``recv()`` returns ``b""`` forever and this
client prints empty lines forever; and a line that arrives while you type is
printed in the middle of your typing. ``chatlab client`` fixes both.

Run it against the classic step: ``python -m chatlab.steps.classic_client``.
"""

import argparse
import socket
import threading


def receive(sock, alias):
    while True:
        message = sock.recv(1024).decode()
        if message == "alias?":
            sock.send(alias.encode())
        else:
            print(message, flush=True)  # BUG 9: b"" (server gone) prints an empty line, forever


def send(sock, alias):
    while True:
        sock.send(f"{alias}: {input()}".encode())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m chatlab.steps.classic_client")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5500)
    args = parser.parse_args(argv)
    alias = input("alias? ")
    sock = socket.create_connection((args.host, args.port))
    threading.Thread(target=receive, args=(sock, alias)).start()
    threading.Thread(target=send, args=(sock, alias)).start()


if __name__ == "__main__":
    main()
