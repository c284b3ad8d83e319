"""``chatlab bench``: the command line of the benchmark, its table, JSON file and chart."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from ..engines import ENGINES

__all__ = ["add_parser", "run_command"]

COMPARE = ("redis", "classic")


def add_parser(commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "bench",
        help="measure the server engines (and Redis) under a chat load",
        description=(
            "Start each server under test in its own process on 127.0.0.1, connect subscriber "
            "clients and publishers (processes of their own), publish numbered, timestamped "
            "messages, and measure deliveries/s, latency, the server's CPU and memory, and that "
            "nothing was lost or reordered. Closed loop by default (each publisher keeps at most "
            "--window messages in flight); paced with --rate."
        ),
        epilog=(
            "Examples:\n"
            "  chatlab bench --compare redis --compare classic\n"
            "  chatlab bench --engine asyncio --compare redis --rate 100000\n"
            "  chatlab bench --clients 10,100,1000 --plot sweep.png --json sweep.json\n"
            "exit codes: 0 done, nothing lost; 1 something was lost or reordered; "
            "2 bad command line; 3 a measurement could not run (e.g. redis-server missing)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--engine", action="append", choices=sorted(ENGINES),
                        help="chatlab engine to measure; repeatable (default: every engine)")  # fmt: skip
    parser.add_argument("--compare", action="append", choices=COMPARE, default=[],
                        help="also measure Redis pub/sub or the classic tutorial server; repeatable")  # fmt: skip
    parser.add_argument("--clients", type=_counts, metavar="N[,N...]",
                        help="subscriber clients; a comma-separated list runs a sweep "
                             "(default: 100, or none with --idle)")  # fmt: skip
    parser.add_argument("--size", type=int, default=64, help="message text size in bytes (default: 64)")
    parser.add_argument("--duration", type=float, default=5.0, metavar="SECONDS",
                        help="how long to measure, after the warm-up (default: 5)")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=1.0, metavar="SECONDS", help="default: 1")
    parser.add_argument("--rate", type=float, metavar="DELIVERIES_PER_S",
                        help="paced mode: publish so that this many deliveries/s are due in all")  # fmt: skip
    parser.add_argument("--window", type=int,
                        help="closed loop: messages each publisher may have in flight "
                             "(default: 50,000 / clients, between 20 and 2,000)")  # fmt: skip
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes (default: 2)")
    parser.add_argument("--idle", type=_counts, default=[], metavar="N[,N...]",
                        help="measure the memory of N idle connections on each server")  # fmt: skip
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="chart deliveries/s and p99 against clients")
    parser.set_defaults(run=run_command)
    return parser


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("counts must be at least 1")
    return counts


def run_command(args: argparse.Namespace) -> int:
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("chatlab bench needs numpy: pip install 'chatlab[bench]'", file=sys.stderr)
        return 3
    from .runner import Params, run
    from .servers import BenchError

    servers = (args.engine or sorted(ENGINES, key=lambda name: name != "threaded")) + list(
        dict.fromkeys(args.compare)
    )
    params = Params(
        size=args.size,
        duration=args.duration,
        warmup=args.warmup,
        rate=args.rate,
        window=args.window,
        publishers=args.publishers,
    )
    # Ctrl+C and SIGTERM end the run through the cleanup in `finally` blocks, even when the
    # shell started us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        clients = args.clients or ([] if args.idle else [100])
        doc = run(servers, clients, params, progress=_progress_printer(), idle=args.idle)
    except BenchError as exc:
        print(file=sys.stderr)
        print(f"chatlab bench: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\nchatlab bench: interrupted; every process it started has been stopped", file=sys.stderr)
        return 130
    print("\r\033[K" if sys.stderr.isatty() else "", end="", file=sys.stderr)
    print(format_table(doc))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
        print(f"results written to {args.json}")
    if args.plot:
        plot(doc, args.plot)
        print(f"chart written to {args.plot}")
    bad = any(r.get("lost") or r.get("reordered") for r in doc["results"])
    if bad:
        print("chatlab bench: some messages were lost or reordered (see the table)", file=sys.stderr)
    failed = any("error" in r for r in doc["results"] + doc.get("idle", []))
    return 1 if bad else 3 if failed else 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _progress_printer():
    """On a terminal, one line rewritten in place; elsewhere, one line each time."""
    tty = sys.stderr.isatty()

    def progress(line: str) -> None:
        print("\r\033[K" + line if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    return progress


def format_table(doc: dict) -> str:
    """The results as a plain-text table, one row per server and client count."""
    columns = [("server", "server", "{}"), ("clients", "clients", "{}"), ("deliveries/s", "deliveries_per_s", "{:,}"),
               ("p50 ms", "p50_ms", "{:.2f}"), ("p99 ms", "p99_ms", "{:.2f}"), ("max ms", "max_ms", "{:.1f}"),
               ("cpu s", "cpu_s", "{:.2f}"), ("rss MB", "rss_mb", "{:.1f}"), ("lost", "lost", "{}"),
               ("late", "late", "{}"), ("reordered", "reordered", "{}"), ("dropped", "dropped", "{}")]  # fmt: skip
    rows = [[title for title, _, _ in columns]]
    errors = []
    for result in doc["results"]:
        if "error" in result:
            errors.append(f"{result['server']}, {result['clients']} clients: failed: {result['error']}")
            continue
        rows.append([("-" if result.get(key) is None else fmt.format(result[key])) for _, key, fmt in columns])
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]  # fmt: skip
    mode = doc["params"].get("rate")
    title = f"paced at {mode:,.0f} deliveries/s" if mode else "closed loop (as fast as it goes)"
    out = [f"{title}, {doc['params']['size']}-byte messages, {doc['params']['duration']:g} s each", *lines]
    if not doc["results"]:
        out = []
    out.extend(errors)
    for row in doc.get("idle", []):
        if "error" in row:
            out.append(f"idle: {row['server']}, {row['connections']:,} connections: failed: {row['error']}")
            continue
        out.append(
            f"idle: {row['server']} holds {row['connections']:,} connections at {row['rss_mb']:.1f} MiB "
            f"({row['kib_per_connection']:.1f} KiB each; connected in {row['connect_s']:.1f} s)"
        )
    return "\n".join(out)


def plot(doc: dict, path: str) -> None:
    """Chart deliveries/s and p99 latency against the number of clients, one line per server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    measured = [r for r in doc["results"] if "error" not in r]
    for server in dict.fromkeys(r["server"] for r in measured):
        rows = sorted((r for r in measured if r["server"] == server), key=lambda r: r["clients"])
        x = [r["clients"] for r in rows]
        top.plot(x, [r["deliveries_per_s"] for r in rows], marker="o", label=server)
        bottom.plot(x, [r["p99_ms"] for r in rows], marker="o", label=server)
    top.set_ylabel("deliveries/s")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_xlabel("subscriber clients")
    for axes in (top, bottom):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
    top.legend()
    top.set_title(f"chatlab bench, {doc['params']['size']}-byte messages")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
