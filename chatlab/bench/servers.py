"""The servers under test, each started in a process of its own, and what they cost.

A chatlab engine or the classic server runs in a child Python process (so
its CPU time and memory are its own); Redis runs as ``redis-server`` from the
PATH, persistence off. Either way the caller gets a :class:`Target`:
an address, a pid to measure, and :meth:`Target.stop`, which always ends the
process (politely first, then by force).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

__all__ = ["BenchError", "Target", "cpu_seconds", "rss_mb", "start_target"]

START_TIMEOUT = 20.0


class BenchError(Exception):
    """The benchmark cannot run as asked; the message says what to do."""


class Target:
    """A running server under test: ``name``, ``address``, ``pid``; :meth:`stop` ends it."""

    def __init__(self, name: str, address: tuple[str, int], process) -> None:
        self.name = name
        self.address = address
        self.process = process  # a multiprocessing.Process or a subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """End the server's process: terminate, wait a little, kill. Safe to call twice."""
        proc = self.process
        if isinstance(proc, subprocess.Popen):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(3)
        elif proc.is_alive():
            proc.terminate()
            proc.join(3)
            if proc.is_alive():
                proc.kill()
                proc.join(3)


def start_target(name: str, ctx, max_clients: int) -> Target:
    """Start server ``name`` ("redis", "classic" or a chatlab engine) on 127.0.0.1; return when it listens."""
    if name == "redis":
        return _start_redis(max_clients)
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(name, max_clients, child), name=f"chatlab-bench-{name}", daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(START_TIMEOUT):
            raise BenchError(f"the {name} server did not start within {START_TIMEOUT:.0f} s")
        port = parent.recv()
    except BaseException:
        Target(name, ("", 0), process).stop()
        raise
    target = Target(name, ("127.0.0.1", port), process)
    target._pipe = parent  # closing it (or our death) tells the child to stop
    return target


def _serve(name: str, max_clients: int, pipe) -> None:
    """The server process: start the server, send the port, stop when the parent closes the pipe."""
    from ..engines import make_server
    from .classic import ClassicServer

    if name == "classic":
        server = ClassicServer("127.0.0.1", 0)
    else:
        # Room for every client, and outboxes that a closed loop never fills.
        server = make_server(name, "127.0.0.1", 0, max_clients=max_clients, handshake_timeout=30.0)
    server.start()
    pipe.send(server.address[1])
    try:
        pipe.recv()  # blocks until the parent closes its end or dies
    except (EOFError, OSError):
        pass
    server.stop()


def require_redis() -> str:
    """Return the path of ``redis-server``, or raise :class:`BenchError` saying how to install it."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise BenchError(
            "--compare redis needs `redis-server` on the PATH. Install Redis "
            "(Debian/Ubuntu: sudo apt-get install redis-server; Fedora: sudo dnf install redis; "
            "macOS: brew install redis), or leave out --compare redis."
        )
    return exe


def _start_redis(max_clients: int) -> Target:
    exe = require_redis()
    port = _free_port()
    args = [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning", "--maxclients", str(max(max_clients, 10000))]  # fmt: skip
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    target = Target("redis", ("127.0.0.1", port), proc)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BenchError(f"redis-server exited: {proc.stderr.read().decode(errors='replace').strip()}")
            try:
                with socket.create_connection(target.address, timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return target
            except OSError:
                time.sleep(0.05)
        raise BenchError(f"redis-server did not answer within {START_TIMEOUT:.0f} s")
    except BaseException:
        target.stop()
        raise


def redis_version() -> str | None:
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    return next((w[2:] for w in out.split() if w.startswith("v=")), out.strip())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- what a process costs ------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far, all its threads; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except Exception:  # noqa: BLE001 - psutil missing or the process gone
        return None


def rss_mb(pid: int) -> float | None:
    """Resident memory of the process now, in MiB; None if unknown."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    except Exception:  # noqa: BLE001
        return None
