"""Run a step server in a process of its own, so that a buggy one can always be stopped.

Some steps hang when asked to stop (``close()`` does not wake a thread blocked
in ``recv()``: that is the lesson of chapter 05). A process can be killed
whatever its threads are doing, and the kernel then closes its sockets, so
tests and notebooks can always clean up.

The step prints ``... listening on HOST:PORT`` when it is ready; everything it
prints (stdout and stderr) is collected line by line and can be waited on.
"""

from __future__ import annotations

import atexit
import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
import weakref

__all__ = ["StepProcess"]

_LISTENING = re.compile(r"listening on (\S+):(\d+)")
_RUNNING: weakref.WeakSet = weakref.WeakSet()


class StepProcess:
    """One step server running as ``python -m chatlab.steps.NAME`` in its own process.

    For callers: :attr:`address`, :meth:`wait_for` (a line of output),
    :meth:`count` (lines containing a text), :attr:`lines` (the first
    ``max_lines`` lines), :meth:`interrupt` (what Ctrl+C does), :meth:`stop`
    (always ends the process), :meth:`cpu_seconds` (Linux only).
    """

    max_lines = 10_000
    max_runs = 100_000

    def __init__(
        self, name: str, host: str = "127.0.0.1", port: int = 0, *, echo_output: bool = False, timeout: float = 10.0
    ) -> None:
        self.name = name
        self.lines: list[str] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=50)
        # Everything printed, with repeats counted rather than stored: a step
        # that spins prints the same line millions of times.
        self._runs: list[list] = []  # [line, times in a row]
        self._counts: dict[str, int] = {}  # text -> lines containing it, for texts waited on
        self._changed = threading.Condition()
        self._ended = False
        self._echo = echo_output
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", f"chatlab.steps.{name}", "--host", host, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,  # a Ctrl+C meant for us (or the notebook) is not sent to it
        )
        _RUNNING.add(self)
        self._reader = threading.Thread(target=self._read_output, name=f"chatlab-step-{name}-output", daemon=True)
        self._reader.start()
        try:
            line = self.wait_for("listening on", timeout=timeout)
        except (TimeoutError, EOFError):
            self.stop()
            errno = re.search(r"\[Errno (\d+)\] ([^\n]*)", self.output)
            if errno:  # e.g. "Address already in use": raise it as the step did
                raise OSError(int(errno[1]), errno[2]) from None
            raise OSError(f"{name} server did not start: {self.output}") from None
        host, port = _LISTENING.search(line).groups()
        self.address = (host, int(port))

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    # -- output -------------------------------------------------------------

    def _read_output(self) -> None:
        for line in self._proc.stdout:
            line = line.rstrip("\n")
            if self._echo:
                print(line, flush=True)
            with self._changed:
                if len(self.lines) < self.max_lines:
                    self.lines.append(line)
                self._tail.append(line)
                if self._runs and self._runs[-1][0] == line:
                    self._runs[-1][1] += 1
                elif len(self._runs) < self.max_runs:
                    self._runs.append([line, 1])
                for text in self._counts:
                    if text in line:
                        self._counts[text] += 1
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def count(self, text: str) -> int:
        """How many lines printed so far contain ``text``."""
        with self._changed:
            if text not in self._counts:
                self._counts[text] = sum(times for line, times in self._runs if text in line)
            return self._counts[text]

    def wait_for(self, text: str, count: int = 1, timeout: float = 5.0) -> str:
        """Wait until ``count`` lines containing ``text`` have been printed; return the last line.

        Raises ``TimeoutError`` if they do not come in time and ``EOFError`` if
        the process ends first.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            self.count(text)
            while self._counts[text] < count:
                if self._ended:
                    raise EOFError(f"{self.name} server ended before printing {text!r}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name} server did not print {text!r} within {timeout} s")
                self._changed.wait(left)
            return next((line for line, _ in reversed(self._runs) if text in line), text)

    @property
    def output(self) -> str:
        """The last lines printed, for error messages."""
        with self._changed:
            return "\n".join(self._tail)

    # -- stopping -------------------------------------------------------------

    def interrupt(self) -> None:
        """Send what Ctrl+C sends (SIGINT); the step decides what to do with it."""
        self._proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the process to end; True if it has."""
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self, grace: float = 0.0) -> bool:
        """End the process; return True if it ended by itself within ``grace`` seconds of a Ctrl+C.

        With ``grace=0`` (the default) it is killed at once. Either way it is
        gone when this returns.
        """
        polite = False
        if grace > 0 and self.alive and os.name == "posix":
            self.interrupt()
            polite = self.wait(grace)
        if self.alive:
            self._proc.kill()
        self._proc.wait()
        self._reader.join(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        _RUNNING.discard(self)
        return polite

    def __enter__(self) -> StepProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def cpu_seconds(self) -> float | None:
        """CPU time the process has used so far (user + system), or None where /proc is missing."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __repr__(self) -> str:
        state = "running" if self.alive else "stopped"
        return f"<StepProcess {self.name} {state}>"


@atexit.register
def _kill_leftovers() -> None:
    """Never leave a step process behind, even when a test or notebook forgot to stop it."""
    for step in list(_RUNNING):
        if step.alive:
            step._proc.kill()
