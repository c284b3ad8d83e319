"""Step 0, echo: a server that sends back every byte it receives, one thread per connection.

The smallest server that shows every piece a chat server needs: a listening
socket (``bind``, ``listen``), an accept loop, one thread per connection,
``recv`` until ``b""`` (the client closed), ``sendall`` (not ``send``, which
may send only part).

    >>> import socket
    >>> with EchoServer(port=0, log=None) as server:
    ...     with socket.create_connection(server.address, timeout=5) as sock:
    ...         sock.sendall(b"hello")
    ...         sock.recv(1024)
    b'hello'

Run it: ``chatlab server --step echo``, then ``nc 127.0.0.1 5500`` and type.
"""

from __future__ import annotations

import socket
import threading


class EchoServer:
    """An echo server you can start and stop from code.

    ``log`` is called with one line per thing that happens (default: ``print``);
    pass ``transcript.append`` to collect the lines instead, or ``None``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 5500, log=print) -> None:
        self.log = log or (lambda line: None)
        self._listener = socket.create_server((host, port))  # bind + listen (+ SO_REUSEADDR)
        self.address = self._listener.getsockname()[:2]
        self._connections: dict[int, socket.socket] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> EchoServer:
        """Start accepting in a background thread; return self."""
        self._accept_thread = threading.Thread(target=self._accept_loop, name="echo-accept", daemon=True)
        self._accept_thread.start()
        return self

    def _accept_loop(self) -> None:
        number = 0
        while True:
            sock, _ = self._listener.accept()
            if self._stopping:  # the wake-up call from stop()
                sock.close()
                return
            number += 1
            self._connections[number] = sock
            thread = threading.Thread(target=self._echo, args=(sock, number), name=f"echo-conn-{number}")
            self._threads.append(thread)
            thread.start()

    def _echo(self, sock: socket.socket, number: int) -> None:
        """One connection: send back what comes, until the client closes."""
        self.log(f"echo server: conn {number} connected")
        try:
            while data := sock.recv(1024):
                self.log(f"echo server: conn {number} received {data!r}")
                sock.sendall(data)
        except OSError as exc:
            self.log(f"echo server: conn {number} failed: {exc.strerror or exc}")
        finally:
            sock.close()
            self._connections.pop(number, None)
            self.log(f"echo server: conn {number} closed")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every connection and wait for every thread."""
        self._stopping = True
        # accept() does not wake up when another thread closes the socket: connect to it instead.
        socket.create_connection(self.address, timeout=timeout).close()
        self._accept_thread.join(timeout)
        self._listener.close()
        for sock in list(self._connections.values()):
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes the recv() below (chapter 05 says why)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> EchoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m chatlab.steps.echo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5500)
    args = parser.parse_args(argv)
    server = EchoServer(args.host, args.port).start()
    print("echo server: listening on %s:%d (Ctrl+C to stop)" % server.address, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
