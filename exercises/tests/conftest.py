"""What every exercise test shares: the learner's module, real sockets, a time limit.

The tests grade whatever directory ``CHATLAB_EXERCISES_DIR`` names (by default
the ``exercises/`` directory above this one), so the same tests grade the
exercises and the solutions. ``test_07_cleanup.py`` loads ``07_cleanup.py``.

Every test has a time limit (``CHATLAB_TEST_TIMEOUT`` seconds, 10 by default,
for its setup, its run and its teardown each): a loop that never ends fails
the test with a message that says so. When
``CHATLAB_REPORT`` names a file, each test's result is appended to it as one
JSON line, for ``chatlab exercises`` to summarise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from chatlab import ChatServer

TIMEOUT = 5.0  # seconds, for every blocking socket call in the tests


def exercises_dir() -> Path:
    return Path(os.environ.get("CHATLAB_EXERCISES_DIR") or Path(__file__).resolve().parent.parent)


def load_exercise(stem: str):
    """Import ``<exercises dir>/<stem>.py`` as a fresh module."""
    path = exercises_dir() / f"{stem}.py"
    name = f"chatlab_exercise_{stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class CannotLoad(Exception):
    """The learner's file is not valid Python; the message says where, on one line."""


@pytest.fixture
def exercise(request):
    """The learner's module for this test file: ``test_01_send_all.py`` -> ``01_send_all.py``."""
    stem = Path(request.node.fspath).stem.removeprefix("test_")
    try:
        return load_exercise(stem)
    except SyntaxError as exc:  # IndentationError too
        where = f"{Path(exc.filename or stem).name}, line {exc.lineno}"
        code = (exc.text or "").strip()
        raise CannotLoad(f"{where}: {type(exc).__name__}: {exc.msg}" + (f": {code}" if code else "")) from None


@pytest.fixture
def tcp_pair():
    """``(left, right)``: two ends of a real TCP connection on 127.0.0.1, with timeouts."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        left = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
        right, _ = listener.accept()
    right.settimeout(TIMEOUT)
    yield left, right
    left.close()
    right.close()


@pytest.fixture
def chat_server():
    """A real chatlab server on a free port of 127.0.0.1, stopped after the test."""
    with ChatServer("127.0.0.1", 0, handshake_timeout=TIMEOUT) as server:
        yield server


# -- a time limit for every test ---------------------------------------------


class ExerciseTimeout(BaseException):
    """A test ran past its time limit. A BaseException, so ``except Exception`` cannot swallow it."""


def _time_limit() -> float:
    return float(os.environ.get("CHATLAB_TEST_TIMEOUT", "10"))


def _limited(phase: str):
    """A hook wrapper that gives each test's setup, call and teardown the time limit.

    After the limit the alarm repeats every second, so that cleanup code stuck
    behind a learner's endless loop (a ``join()`` on a spinning thread, say)
    is interrupted too, and the run goes on to the next test.
    """

    @pytest.hookimpl(hookwrapper=True)
    def wrapper(item):
        if not hasattr(signal, "setitimer"):  # Windows: the runner's overall limit still applies
            yield
            return
        limit = _time_limit()

        def stop(signum, frame):
            raise ExerciseTimeout(
                f"still running after {limit:g} s: is there a loop that never ends, "
                "or a call that waits forever?"
            )

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, limit, 1.0)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    wrapper.__name__ = f"pytest_runtest_{phase}"
    return wrapper


pytest_runtest_setup = _limited("setup")
pytest_runtest_call = _limited("call")
pytest_runtest_teardown = _limited("teardown")


# -- results for the runner ---------------------------------------------------


def pytest_collection_finish(session):
    path = os.environ.get("CHATLAB_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps({"when": "collected", "nodeids": [item.nodeid for item in session.items]}) + "\n")


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _record(report.nodeid, report.when, report.outcome, report)


def pytest_collectreport(report):
    if report.outcome != "passed":
        _record(report.nodeid, "collect", report.outcome, report)


def _record(nodeid: str, when: str, outcome: str, report) -> None:
    path = os.environ.get("CHATLAB_REPORT")
    if not path:
        return
    line = json.dumps({"nodeid": nodeid, "when": when, "outcome": outcome, "message": _message(report)})
    with open(path, "a", encoding="utf-8") as file:
        file.write(line + "\n")


def _message(report) -> str:
    """The one line that says what went wrong, e.g. ``AssertionError: bob got nothing``."""
    if report.passed:
        return ""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(report.longrepr).strip().splitlines()[-1] if report.longrepr else ""
