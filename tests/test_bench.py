"""A short run of ``chatlab bench``: every engine, a handful of clients, about a second each.

Checks what holds on any machine: nothing lost or reordered, the JSON shape,
and every process stopped. Never timing: the full benchmark is not a test.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil

import pytest

from chatlab.cli import main
from chatlab.engines import ENGINES

pytest.importorskip("numpy")

RESULT_KEYS = {"server", "deliveries_per_s", "p50_ms", "p99_ms", "max_ms", "cpu_s", "rss_mb", "lost", "reordered"}
HAVE_REDIS = shutil.which("redis-server") is not None


def bench(tmp_path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    argv = ["bench", "--clients", "4", "--duration", "1", "--warmup", "0.3", "--publishers", "1"]
    assert main([*argv, *args, "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_short_bench_loses_nothing_and_writes_the_json(tmp_path):
    doc = bench(tmp_path, *(["--compare", "redis"] if HAVE_REDIS else []))
    assert set(doc) >= {"results", "machine", "params"}
    servers = [row["server"] for row in doc["results"]]
    assert set(servers) == set(ENGINES) | ({"redis"} if HAVE_REDIS else set())
    for row in doc["results"]:
        assert RESULT_KEYS <= set(row)
        assert row["lost"] == 0 and row["reordered"] == 0, row
        assert row["deliveries_per_s"] > 0
    assert multiprocessing.active_children() == []


def test_paced_bench_against_the_classic_server(tmp_path):
    doc = bench(tmp_path, "--engine", "asyncio", "--compare", "classic", "--rate", "2000")
    assert [row["server"] for row in doc["results"]] == ["asyncio", "classic"]
    assert all(row["lost"] == 0 and row["reordered"] == 0 for row in doc["results"])
    assert doc["params"]["rate"] == 2000


def test_missing_redis_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["bench", "--engine", "asyncio", "--compare", "redis", "--duration", "0.2"]) == 3
    assert "redis-server" in capsys.readouterr().err


def test_the_counter_sees_gaps_reordering_and_notices():
    import numpy as np

    from chatlab.bench.load import _Counter
    from chatlab.bench.wire import ChatlabWire, message_text
    from chatlab.events import Joined
    from chatlab.protocol import encode

    wire = ChatlabWire(40)
    counter = _Counter(wire, connections=1, publishers=2, t0=0, t1=10**30)
    frames = [wire.delivered(p, message_text(p, seq, 1, 40)) for p, seq in [(0, 1), (1, 1), (0, 2), (0, 4), (0, 3)]]
    stream = encode(Joined("bob")) + b"".join(frames)
    for i in range(0, len(stream), 7):  # any split works
        counter.take_round([(0, stream[i : i + 7], 2)])
    assert counter.received.tolist() == [[4, 1]]
    assert counter.reordered == 1  # 3 came after 4
    assert counter.in_window == 5 and counter.hist.sum() == 5
    assert np.array_equal(counter.last, [[4, 1]])
    assert counter.lost_and_late(np.array([4, 1])) == (0, 0)
    assert counter.lost_and_late(np.array([6, 1])) == (0, 2)  # 5 and 6 may still come
    counter.take_round([(0, wire.delivered(1, message_text(1, 3, 1, 40)), 2)])
    assert counter.lost_and_late(np.array([4, 3])) == (1, 0)  # 2 never came, and 3 did
