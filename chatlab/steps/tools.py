"""Helpers for the notebooks that study the steps: show real source, and talk the classic protocol.

The notebooks never paste a copy of a program into a cell (it would drift
from the code that runs): they show the module's own source with these.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import socket
import struct
import textwrap

__all__ = ["ClassicPeer", "show", "show_step", "step_diff", "step_source"]


def _display_code(source: str, language: str = "python") -> None:
    from IPython.display import Markdown, display

    display(Markdown(f"```{language}\n{source.rstrip()}\n```"))


def show(code) -> None:
    """Display the real source of a chatlab function, method, class or module."""
    _display_code(textwrap.dedent(inspect.getsource(code)))


def step_source(name: str) -> str:
    """The source file of step ``name`` (``final`` is :mod:`chatlab.server`)."""
    module = "chatlab.server" if name == "final" else f"chatlab.steps.{name}"
    return inspect.getsource(importlib.import_module(module))


def show_step(name: str) -> None:
    """Display the whole source file of step ``name``."""
    _display_code(step_source(name))


def step_diff(old: str, new: str) -> str:
    """What changed from step ``old`` to step ``new``, as a unified diff (what ``diff -u`` prints)."""
    lines = difflib.unified_diff(
        step_source(old).splitlines(keepends=True),
        step_source(new).splitlines(keepends=True),
        f"{old}.py",
        f"{new}.py",
    )
    return "".join(lines)


class ClassicPeer:
    """A raw TCP client of the classic chat that keeps what it has read but not yet used.

    The classic protocol is plain text with no boundaries, so a peer reads
    until an expected text has arrived rather than counting reads.
    """

    def __init__(self, address, alias: str | None = None, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.pending = b""
        if alias is not None:
            self.expect(b"alias?")
            self.sock.sendall(alias.encode())
            self.expect(f"{alias} joined the chat".encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def expect(self, text: bytes) -> bytes:
        """Read until ``text`` has arrived; return everything up to and including it.

        Raises ``TimeoutError`` if it does not come in time and ``EOFError``
        if the server closes the connection first.
        """
        while text not in self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection closed while waiting for {text!r}; got {self.pending!r}")
            self.pending += data
        end = self.pending.index(text) + len(text)
        seen, self.pending = self.pending[:end], self.pending[end:]
        return seen

    def expect_closed(self) -> bytes:
        """Read until the server closes the connection; return what came before."""
        while data := self.sock.recv(65536):
            self.pending += data
        return self.pending

    def reset(self) -> None:
        """Leave abruptly: close with a TCP reset (RST) instead of a polite FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> ClassicPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
