"""The terminal client: chat from a shell, by hand or from a script.

On a terminal it shows a prompt that incoming messages never garble
(prompt_toolkit prints them above the line being typed). With input from a
pipe or a file it is scriptable: each input line is sent as one message and
each event received is printed as one line, so ``chatlab client`` can be
driven by tests, by other programs and by shell pipelines.

Exit codes (also in ``chatlab client --help``):

==  ==========================================================
0   left normally: end of input, /quit, Ctrl+C or Ctrl+D
2   bad command line (for example no --alias with piped input)
3   cannot connect: nothing listens there, or the network fails
4   alias refused by the server, or invalid
5   the server shut down or the connection was lost
==  ==========================================================
"""

from __future__ import annotations

import os
import sys
import threading

from .client import ChatClient
from .display import format_event, visible
from .errors import AliasRefused, ChatError, ConnectionClosed
from .events import Event, Welcome

__all__ = ["EXIT_DISCONNECTED", "EXIT_OK", "EXIT_REFUSED", "EXIT_UNREACHABLE", "EXIT_USAGE", "run"]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_REFUSED = 4
EXIT_DISCONNECTED = 5

QUIT_COMMANDS = ("/quit", "/exit")


def run(host: str, port: int, alias: str | None, *, interactive: bool | None = None) -> int:
    """Chat as ``alias`` until the input ends or the server goes; return the exit code."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if alias is None and not interactive:
        _complain("--alias is required when input is not a terminal")
        return EXIT_USAGE
    session = _Session(interactive)
    code = session.join(host, port, alias)
    if code != EXIT_OK:
        return code
    return session.chat()


def _complain(message: str) -> None:
    print(f"chatlab: {message}", file=sys.stderr, flush=True)


class _Session:
    """One run of the terminal client: join, then pass lines both ways."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.client: ChatClient | None = None
        self._print_lock = threading.Lock()
        self._ready = threading.Event()  # the welcome line is out: events may print
        self._ended = threading.Event()
        self._prompt = None  # the prompt_toolkit session, when interactive

    # -- joining ------------------------------------------------------------

    def join(self, host: str, port: int, alias: str | None) -> int:
        asked = alias is None
        while True:
            if asked:
                alias = self._ask_alias()
                if alias is None:
                    return EXIT_OK
            try:
                self.client = ChatClient.connect(
                    host, port, alias, on_event=self._show, on_close=self._connection_ended
                )
            except (ValueError, AliasRefused) as exc:
                if isinstance(exc, AliasRefused):
                    _complain(f"the server refused the alias: {visible(exc.reason)}")
                else:
                    _complain(f"invalid alias: {exc}")
                if asked:
                    continue  # a person at a terminal can pick another one
                return EXIT_REFUSED
            except ConnectionRefusedError:
                _complain(f"cannot connect to {host}:{port}: connection refused (is `chatlab server` running?)")
                return EXIT_UNREACHABLE
            except (OSError, ChatError) as exc:
                _complain(f"cannot connect to {host}:{port}: {exc}")
                return EXIT_UNREACHABLE
            self._print(format_event(Welcome(self.client.alias, self.client.online)))
            self._ready.set()
            return EXIT_OK

    def _ask_alias(self) -> str | None:
        from prompt_toolkit import PromptSession

        try:
            return PromptSession().prompt("alias? ").strip() or self._ask_alias()
        except (EOFError, KeyboardInterrupt):
            return None

    # -- chatting -----------------------------------------------------------

    def chat(self) -> int:
        assert self.client is not None
        try:
            if self.interactive:
                self._chat_at_terminal()
            else:
                self._chat_from_pipe()
        except KeyboardInterrupt:
            pass  # Ctrl+C: leave like /quit
        finally:
            self.client.close()
        reason = self.client.close_reason
        if reason == "closed":
            return EXIT_OK
        _complain(reason or "connection closed")
        return EXIT_DISCONNECTED

    def _chat_from_pipe(self) -> None:
        reader = threading.Thread(target=self._send_lines, args=(_lines(sys.stdin.fileno()),), daemon=True)
        reader.start()
        # The main thread waits here, not in read(): it can then end as soon as
        # the server goes, even while the input is still open.
        self._ended.wait()

    def _send_lines(self, lines) -> None:
        for line in lines:
            if not self._send(line):
                break
        self._ended.set()

    def _chat_at_terminal(self) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.patch_stdout import patch_stdout

        self._prompt = PromptSession()
        with patch_stdout(raw=True):
            while not self._ended.is_set():
                try:
                    line = self._prompt.prompt(f"{self.client.alias}> ")
                except EOFError:
                    break
                if not self._send(line):
                    break

    def _send(self, line: str) -> bool:
        """Send one input line; False when it is time to stop."""
        text = line.rstrip("\r\n")
        if text.strip() in QUIT_COMMANDS:
            return False
        if not text.strip():
            return True
        try:
            self.client.say(text)
        except ValueError as exc:  # e.g. too long: say so, keep chatting
            _complain(f"not sent: {exc}")
        except ConnectionClosed:
            return False
        return True

    # -- from the receive thread -------------------------------------------

    def _show(self, event: Event) -> None:
        self._ready.wait()
        self._print(format_event(event))

    def _connection_ended(self, reason: str) -> None:
        self._ended.set()
        app = self._prompt.app if self._prompt is not None else None
        if app is not None and app.is_running:
            app.loop.call_soon_threadsafe(lambda: app.exit(exception=EOFError()))

    def _print(self, line: str) -> None:
        with self._print_lock:
            print(line, flush=True)


def _lines(fd: int, chunk: int = 65536):
    """Yield the lines of file descriptor ``fd`` as text, decoding bad UTF-8 as U+FFFD.

    Reads with ``os.read`` rather than through ``sys.stdin``: this runs in a
    daemon thread, and a daemon thread blocked inside ``sys.stdin``'s buffer
    can crash the interpreter as it exits.
    """
    pending = b""
    while data := os.read(fd, chunk):
        pending += data
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")
