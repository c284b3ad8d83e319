"""One measurement, and a run of them: start a server, load it, collect, clean up.

:func:`measure` is one server at one number of clients; :func:`run` loops
over servers and client counts and returns the JSON document the CLI writes.
Every process started is ended in a ``finally``, on success, error or Ctrl+C.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import queue
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from . import load
from .wire import MAX_PUBLISHERS
from .servers import BenchError, Target, cpu_seconds, redis_version, require_redis, rss_mb, start_target

__all__ = ["Params", "measure", "measure_idle", "run"]


@dataclass
class Params:
    """What to measure. ``rate`` (deliveries/s in all) makes it paced; None is closed loop."""

    clients: int = 100
    size: int = 64
    duration: float = 5.0
    warmup: float = 1.0
    rate: float | None = None
    window: int | None = None  # closed loop: messages per publisher not yet received by everyone
    publishers: int = 2
    batch: int = 100  # most messages a publisher sends in one write
    subscriber_procs: int = 2


Progress = Callable[[str], None]


def default_window(clients: int) -> int:
    """Messages in flight per publisher in a closed loop: about 50,000 deliveries, whatever the clients.

    Enough to keep a server busy; few enough that no subscriber's backlog
    comes near the servers' 1 MiB limit (2,000 messages of 64 bytes are 220 kB).

    >>> default_window(10), default_window(100), default_window(1000)
    (2000, 500, 50)
    """
    return max(20, min(2000, 50_000 // clients))


def measure(server: str, params: Params, progress: Progress | None = None) -> dict:
    """Measure ``server`` under ``params``; return one result row (see :func:`run`)."""
    if params.publishers > MAX_PUBLISHERS:
        raise BenchError(f"at most {MAX_PUBLISHERS} publishers")
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no threads or sockets inherited
    wire = "redis" if server == "redis" else "chatlab"
    procs = min(params.subscriber_procs, params.clients)
    shared = load.Shared(ctx, procs, params.publishers)
    workers: list = []
    target: Target | None = None
    try:
        target = start_target(server, ctx, max_clients=params.clients + params.publishers + 16)
        common = dict(wire=wire, size=params.size, address=target.address)
        split = np.array_split(np.arange(params.clients), procs)
        for i, part in enumerate(split):
            workers.append(_spawn(ctx, "subscriber", i, shared, first=int(part[0]), count=len(part),
                                  publishers=params.publishers, subscriber_procs=procs,
                                  pause=0.0 if params.rate else 0.001, **common))  # fmt: skip
        _wait_ready(shared, "subscriber", procs, 60 + params.clients * 0.1)
        rate_each = None
        if params.rate:  # deliveries/s -> messages/s for each publisher
            rate_each = params.rate / params.clients / params.publishers
        window = params.window or default_window(params.clients)
        for i in range(params.publishers):
            workers.append(_spawn(ctx, "publisher", i, shared, window=window, rate=rate_each,
                                  batch=params.batch, subscriber_procs=procs, publishers=params.publishers,
                                  **common))  # fmt: skip
        _wait_ready(shared, "publisher", params.publishers, 30)

        start = time.monotonic_ns() + 50_000_000
        t0 = start + int(params.warmup * 1e9)
        t1 = t0 + int(params.duration * 1e9)
        shared.times[:] = [start, t0, t1]
        shared.go.set()
        _sleep_until(t0)
        cpu0 = cpu_seconds(target.pid)
        while (now := time.monotonic_ns()) < t1:
            _sleep_until(min(t1, now + 500_000_000))
            if progress:
                elapsed = (time.monotonic_ns() - t0) / 1e9
                rate = sum(shared.progress[:]) / max(elapsed, 1e-9)
                progress(f"{server}, {params.clients} clients: {elapsed:4.1f} of {params.duration:g} s, "
                         f"{rate / 1e6:5.2f} M deliveries/s")  # fmt: skip
        cpu1 = cpu_seconds(target.pid)
        rss = rss_mb(target.pid)
        results = _collect(shared, "subscriber", procs, load.DRAIN_SECONDS + 30)
        shared.stop.set()
        _collect(shared, "publisher", params.publishers, 30)
    finally:
        shared.stop.set()
        for worker in workers:
            worker.join(2)
            if worker.is_alive():
                worker.kill()
                worker.join(2)
        if target is not None:
            target.stop()

    hist = np.sum([r["hist"] for r in results], axis=0)
    deliveries = sum(r["deliveries"] for r in results)
    return {
        "server": server,
        "clients": params.clients,
        "mode": "paced" if params.rate else "closed",
        "rate": params.rate,
        "deliveries_per_s": round(deliveries / params.duration),
        "p50_ms": _percentile(hist, 0.50),
        "p99_ms": _percentile(hist, 0.99),
        "max_ms": round(max(r["max_ns"] for r in results) / 1e6, 3),
        "cpu_s": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2),
        "rss_mb": None if rss is None else round(rss, 1),
        "lost": sum(r["lost"] for r in results),
        "late": sum(r["late"] for r in results),
        "reordered": sum(r["reordered"] for r in results),
        "dropped": sum(r["closed_early"] for r in results),
        "load_cpu_s": round(sum(r["cpu_s"] for r in results), 2),
    }


def measure_idle(server: str, connections: int, progress: Progress | None = None) -> dict:
    """Connect ``connections`` clients that join and stay silent; return the server's memory and the time taken."""
    ctx = multiprocessing.get_context("spawn")
    wire = "redis" if server == "redis" else "chatlab"
    procs = max(1, min(4, connections // 500))
    shared = load.Shared(ctx, procs, 1)
    workers: list = []
    target = None
    try:
        target = start_target(server, ctx, max_clients=connections + 16)
        base = rss_mb(target.pid)
        began = time.monotonic()
        for i, part in enumerate(np.array_split(np.arange(connections), procs)):
            workers.append(_spawn(ctx, "idle", i, shared, wire=wire, size=64, address=target.address,
                                  first=int(part[0]), count=len(part)))  # fmt: skip
        _wait_ready(shared, "idle", procs, 60 + connections * 0.05)
        seconds = time.monotonic() - began
        time.sleep(0.5)  # let the last notices be written
        rss = rss_mb(target.pid)
        if progress:
            progress(f"{server}: {connections} idle connections, {rss:.1f} MiB")
        return {
            "server": server,
            "connections": connections,
            "connect_s": round(seconds, 2),
            "rss_mb": round(rss, 1),
            "base_rss_mb": round(base, 1),
            "kib_per_connection": round((rss - base) * 1024 / connections, 1),
        }
    finally:
        shared.stop.set()
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.kill()
                worker.join(2)
        if target is not None:
            target.stop()


def run(
    servers: list[str],
    clients: list[int],
    params: Params,
    progress: Progress | None = None,
    idle: list[int] = (),
) -> dict:
    """Measure every server at every number of clients; return ``{"results", "machine", "params"}``.

    Each result: ``server``, ``clients``, ``deliveries_per_s``, ``p50_ms``,
    ``p99_ms``, ``max_ms`` (latency from the publisher's send to the
    subscriber's receive), ``cpu_s`` and ``rss_mb`` (the server process),
    ``lost``, ``reordered``, ``dropped`` (subscribers the server disconnected)
    and ``load_cpu_s`` (what the subscriber processes used).
    """
    if "redis" in servers:
        require_redis()  # before anything starts: say what to install
    results = []
    for n in clients:
        for server in servers:
            try:
                results.append(measure(server, Params(**{**asdict(params), "clients": n}), progress))
            except BenchError as exc:  # one failed measurement does not lose the others
                results.append({"server": server, "clients": n, "error": str(exc)})
    doc = {"results": results, "machine": machine(servers), "params": {**asdict(params), "clients": clients}}
    if idle:
        doc["idle"] = []
        for n in idle:
            for server in servers:
                try:
                    doc["idle"].append(measure_idle(server, n, progress))
                except BenchError as exc:
                    doc["idle"].append({"server": server, "connections": n, "error": str(exc)})
    return doc


def machine(servers: list[str] = ()) -> dict:
    """What the figures depend on: CPUs, Python, event loop, Redis."""
    info = {
        "system": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
    }
    try:
        import uvloop

        info["uvloop"] = uvloop.__version__
    except ImportError:
        info["uvloop"] = None
    if "redis" in servers:
        info["redis"] = redis_version()
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _spawn(ctx, role: str, index: int, shared, **kwargs):
    process = ctx.Process(target=load.run_worker, args=(role, index, shared), kwargs=kwargs,
                          name=f"chatlab-bench-{role}-{index}", daemon=True)  # fmt: skip
    process.start()
    return process


def _wait_ready(shared, role: str, count: int, timeout: float) -> None:
    _collect(shared, role, count, timeout, want="ready")


def _collect(shared, role: str, count: int, timeout: float, want: str = "result") -> list:
    """Wait for ``count`` reports of ``want`` from workers of ``role``; raise on an error report."""
    got: dict[int, object] = {}
    early = shared.__dict__.setdefault("early", [])  # reports that came before they were asked for
    deadline = time.monotonic() + timeout
    while len(got) < count:
        mine = [r for r in early if r[0] == role and r[2] == want]
        if mine:
            report = mine[0]
            early.remove(report)
        else:
            try:
                report = shared.reports.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                missing = count - len(got)
                raise BenchError(f"{missing} {role} process(es) did not report within {timeout:.0f} s") from None
        who, index, kind, value = report
        if kind == "error":
            raise BenchError(f"a load generator failed: {value}")
        if who == role and kind == want:
            got[index] = value
        else:
            early.append(report)
    return [got[i] for i in sorted(got)]


def _sleep_until(t_ns: int) -> None:
    delay = (t_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)


def _percentile(hist: np.ndarray, q: float) -> float | None:
    total = hist.sum()
    if not total:
        return None
    bucket = int(np.searchsorted(np.cumsum(hist), q * total))
    return round(2 ** ((bucket + 0.5) / load.BUCKETS_PER_DOUBLING) / 1e6, 3)
