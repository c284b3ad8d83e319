"""Run ``chatlab`` commands as real processes and read their output with timeouts."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

TIMEOUT = 15


def chatlab_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "chatlab", *args]


class Process:
    """A ``chatlab`` subprocess whose stdout lines can be awaited one by one."""

    def __init__(self, *args: str, stdin=subprocess.PIPE) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.popen = subprocess.Popen(
            chatlab_command(*args),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        """Wait for a stdout line matching ``pattern``; fail with what was seen if none comes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout} s; got {self.lines}") from None
            if line is None:
                raise AssertionError(f"output ended before a line matching {pattern!r}; got {self.lines}")
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match

    def send_line(self, text: str) -> None:
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        self.popen.stdin.close()

    def interrupt(self) -> None:
        self.popen.send_signal(signal.SIGINT)

    def finish(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        """Wait for the exit; return (exit code, stderr). Kills it if it does not exit in time."""
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"{self.popen.args} did not exit within {timeout} s") from None
        rest = self.popen.stdout.read() if not self.popen.stdout.closed else ""
        self.lines += [line for line in rest.splitlines()]
        self.lines += [line for line in iter(lambda: self._drain(), None)]
        return code, self.popen.stderr.read()

    def _drain(self):
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream:
                stream.close()


def start_server(*args: str) -> tuple[Process, int]:
    """Start ``chatlab server --port 0``; return it and the port it printed."""
    server = Process("server", "--port", "0", *args, stdin=subprocess.DEVNULL)
    port = int(server.expect(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    return server, port


class Terminal:
    """``chatlab`` run on a pseudo-terminal, as a person at a keyboard would run it."""

    def __init__(self, *args: str) -> None:
        import pty

        self._master, slave = pty.openpty()
        self.popen = subprocess.Popen(
            chatlab_command(*args),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1"),  # this pty answers no queries
            start_new_session=True,
        )
        os.close(slave)
        self.screen = b""

    def type(self, keys: bytes) -> None:
        os.write(self._master, keys)

    def read_until(self, needle: bytes, timeout: float = TIMEOUT) -> None:
        """Wait until ``needle`` has been written to the terminal."""
        import select

        deadline = time.monotonic() + timeout
        while needle not in self.screen:
            ready, _, _ = select.select([self._master], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"{needle!r} never appeared; screen so far: {self.screen!r}"
            try:
                self.screen += os.read(self._master, 65536)
            except OSError:  # EIO: the program exited and closed the terminal
                raise AssertionError(f"{needle!r} never appeared before exit: {self.screen!r}") from None

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        os.close(self._master)
