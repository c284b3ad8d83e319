"""The ``chatlab`` command: one subcommand per thing a user runs.

    chatlab server [--host HOST] [--port PORT] [--log-level LEVEL]
    chatlab client [--host HOST] [--port PORT] [--alias ALIAS]
    chatlab exercises list | check [NAME | --all] | hint NAME
    chatlab bench [--engine NAME] [--compare redis|classic] [--clients N,...] [--rate R] ...
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from . import __version__
from .bench.cli import add_parser as _add_bench
from .engines import DEFAULT_ENGINE, ENGINES, make_server
from .exercises import add_parser as _add_exercises
from .protocol import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``chatlab`` command line; return the exit code."""
    parser = _make_parser()
    args = parser.parse_args(argv)
    return args.run(args)


def _make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatlab",
        description="Learn network programming by building a multi-client TCP chat.",
        epilog="Try it: run `chatlab server` in one terminal and `chatlab client` in two others.",
    )
    parser.add_argument("--version", action="version", version=f"chatlab {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_server(commands)
    _add_client(commands)
    _add_exercises(commands)
    _add_bench(commands)
    return parser


def _add_address(parser: argparse.ArgumentParser, host_help: str, port_help: str) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"{host_help} (default: {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"{port_help} (default: {DEFAULT_PORT})")


def _add_server(commands) -> None:
    parser = commands.add_parser(
        "server",
        help="run a chat server",
        description="Run a chat server until Ctrl+C. Clients connect to it with `chatlab client`.",
        epilog="Example: chatlab server --port 0   (any free port; the one it got is printed)",
    )
    _add_address(
        parser,
        "address to listen on; 127.0.0.1 accepts connections from this machine only, "
        "0.0.0.0 from any machine that can reach it",
        "TCP port to listen on; 0 picks a free one",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much the server says about connections (default: info)",
    )
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long a new connection may take to send its alias (default: 10)",
    )
    parser.add_argument("--max-clients", type=int, default=1000, help="clients at once (default: 1000)")
    parser.add_argument(
        "--engine",
        default=DEFAULT_ENGINE,
        choices=sorted(ENGINES),
        help=f"which server implementation runs (default: {DEFAULT_ENGINE})",
    )
    from .steps import STEPS

    parser.add_argument(
        "--step",
        choices=list(STEPS),
        metavar="NAME",
        help="run one step of the course instead: "
        + "; ".join(f"{name}: {what}" for name, what in STEPS.items()),
    )
    parser.set_defaults(run=_run_server)


def _add_client(commands) -> None:
    parser = commands.add_parser(
        "client",
        help="join a chat server from this terminal",
        description=(
            "Join a chat. On a terminal, type a line and press Enter to send it; "
            "/quit, Ctrl+D or Ctrl+C leaves. With input from a pipe, each line is "
            "sent as a message and each message received is printed as `ALIAS: TEXT`."
        ),
        epilog=(
            "exit codes: 0 left normally; 2 bad command line; 3 cannot connect; "
            "4 alias refused; 5 server shut down or connection lost.\n"
            "Example: echo 'hello' | chatlab client --alias alice"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_address(parser, "server to connect to", "its port")
    parser.add_argument(
        "--alias",
        help="the name others see; asked for when missing (required when input is piped)",
    )
    parser.set_defaults(run=_run_client)


def _run_server(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), format="%(message)s", stream=sys.stderr)
    # Before anything can be printed: a script that reads "listening" may signal us at once.
    stop_requested = _stop_on_signals()
    try:
        if args.step:  # a step of the course; a buggy one may need killing: stop() does it
            from .steps import start

            server = start(args.step, args.host, args.port, echo_output=True)
        else:
            server = make_server(
                args.engine,
                args.host,
                args.port,
                handshake_timeout=args.handshake_timeout,
                max_clients=args.max_clients,
            ).start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = " (is another server running there? try another --port)" if _in_use(exc) else ""
        print(f"chatlab: cannot listen on {args.host}:{args.port}: {reason}{hint}", file=sys.stderr)
        return 1
    host, port = server.address
    print(f"chatlab server listening on {host}:{port} (Ctrl+C to stop)", flush=True)
    stop_requested.wait()
    server.stop()
    print("chatlab server stopped", flush=True)
    return 0


def _stop_on_signals() -> threading.Event:
    """Return an event that Ctrl+C (SIGINT) or SIGTERM sets, instead of raising."""
    stop = threading.Event()
    # Handle SIGINT ourselves too: a shell starts background jobs with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _in_use(exc: OSError) -> bool:
    import errno

    return exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))


def _run_client(args: argparse.Namespace) -> int:
    from .terminal import run

    return run(args.host, args.port, args.alias)
