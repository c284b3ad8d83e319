"""``chatlab exercises``: list the course's exercises, check your answers, get hints.

    chatlab exercises [list]               every exercise, in order, done or not
    chatlab exercises check [NAME]         check one exercise (default: the next unfinished one)
    chatlab exercises check --all          check them all
    chatlab exercises hint NAME            a nudge, and where to read

Run it inside a clone of the chatlab repository. The exercises are the files
in ``exercises/``, listed in order by ``exercises/manifest.toml``; their tests
are in ``exercises/tests/``. A check runs those tests with pytest in a
subprocess, against your files, and prints one line per exercise instead of
pytest's report. Every test has a time limit, so code that loops forever
fails with a message instead of hanging the check.

Invariant: the tests themselves never run as part of the project's own test
suite (they would fail on the untouched exercises); only this runner and
``tests/test_course.py`` run them, the latter against ``solutions/`` as well.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CourseError", "Exercise", "Result", "add_parser", "find", "find_root", "load_manifest", "run"]

MANIFEST = Path("exercises") / "manifest.toml"
#: Seconds one test may run before it fails as "still running".
DEFAULT_TIMEOUT = 10.0


class CourseError(Exception):
    """Something the learner can fix: not in a checkout, unknown exercise, broken manifest."""


@dataclass(frozen=True)
class Exercise:
    """One entry of the manifest; ``file`` and ``tests`` are relative to the exercises folder."""

    number: int
    name: str
    file: str
    tests: str
    hint: str

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name}"


@dataclass
class TestResult:
    name: str  # e.g. "test_end_of_stream_raises[alice]"
    outcome: str  # "passed", "failed", "skipped"
    message: str = ""


@dataclass
class Result:
    """What one check found for one exercise."""

    exercise: Exercise
    tests: list[TestResult] = field(default_factory=list)
    error: str | None = None  # the tests could not run (time limit, crash)

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.tests) and all(t.outcome != "failed" for t in self.tests)

    @property
    def failures(self) -> list[TestResult]:
        return [t for t in self.tests if t.outcome == "failed"]


# -- the course on disk ---------------------------------------------------------


def find_root(start: Path | None = None) -> Path:
    """Return the folder holding ``exercises/manifest.toml``: ``start`` or the nearest one above it."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / MANIFEST).is_file():
            return folder
    raise CourseError(
        f"no {MANIFEST.as_posix()} in {start} or any folder above it.\n"
        "Run `chatlab exercises` inside a clone of the chatlab repository: "
        "the exercises are files there that you edit."
    )


def load_manifest(root: Path) -> list[Exercise]:
    """The exercises listed in ``root/exercises/manifest.toml``, in course order."""
    path = root / MANIFEST
    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
        entries = data["exercises"]
        return [
            Exercise(n, e["name"], e["file"], e["tests"], e["hint"].strip()) for n, e in enumerate(entries, 1)
        ]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise CourseError(f"{path} is damaged ({exc}); restore it with `git checkout {MANIFEST.as_posix()}`")


def find(exercises: list[Exercise], name: str) -> Exercise:
    """The exercise called ``name`` (also accepted: ``2``, ``02``, ``02_recv_exactly.py``)."""
    wanted = name.strip().lower().removesuffix(".py")
    for exercise in exercises:
        stem = exercise.file.removesuffix(".py")
        if wanted in (exercise.name, stem) or (wanted.isdigit() and int(wanted) == exercise.number):
            return exercise
    names = [exercise.name for exercise in exercises]
    close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    suggestion = f" Did you mean {' or '.join(close)}?" if close else ""
    raise CourseError(
        f"there is no exercise called {name!r}.{suggestion}\nSee them all with `chatlab exercises list`."
    )


# -- running the tests ----------------------------------------------------------


def run(
    root: Path, exercises: list[Exercise], timeout: float = DEFAULT_TIMEOUT, stall: float | None = None
) -> dict[str, Result]:
    """Run the tests of ``exercises`` against the files in ``root/exercises``, in one pytest process.

    Each test may run ``timeout`` seconds. The whole run is stopped if no test
    finishes for ``stall`` seconds (by default far longer than ``timeout``):
    something the per-test limit could not interrupt. Tests that never
    finished count as failed. Returns one :class:`Result` per exercise name.
    """
    try:
        import pytest  # noqa: F401  (only to say clearly that it is missing)
    except ImportError:
        raise CourseError("checking exercises needs pytest: pip install pytest") from None
    folder = root / "exercises"
    results = {exercise.name: Result(exercise) for exercise in exercises}
    by_file = {Path(exercise.tests).name: results[exercise.name] for exercise in exercises}
    missing = [e for e in exercises if not (folder / e.file).is_file()]
    for exercise in missing:
        results[exercise.name].error = f"{(folder / exercise.file).relative_to(root)} is missing"
    to_run = [e for e in exercises if e not in missing]
    if not to_run:
        return results
    with tempfile.TemporaryDirectory(prefix="chatlab-exercises-") as tmp:
        report = Path(tmp) / "report.jsonl"
        env = {
            **os.environ,
            "CHATLAB_EXERCISES_DIR": str(folder),
            "CHATLAB_REPORT": str(report),
            "CHATLAB_TEST_TIMEOUT": str(timeout),
            "PYTHONDONTWRITEBYTECODE": "1",  # no __pycache__ next to the learner's files
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # the tests need no plugin; loading them all is slow
        }
        env.pop("PYTEST_ADDOPTS", None)
        command = [
            sys.executable, "-m", "pytest",
            "-c", str(folder / "tests" / "pytest.ini"),
            "--rootdir", str(folder / "tests"),
            "-p", "no:cacheprovider",
            *[str(folder / exercise.tests) for exercise in to_run],
        ]  # fmt: skip
        if stall is None:
            stall = 2 * timeout + 20  # a test's setup, run and teardown each have `timeout`
        output, stalled = _run_process(command, env, root, report, stall)
        reported = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    expected: dict[str, list[str]] = {}  # exercise name -> its tests, as collected
    for line in reported:
        entry = json.loads(line)
        if entry["when"] == "collected":
            for nodeid in entry["nodeids"]:
                path, _, test = nodeid.partition("::")
                if Path(path).name in by_file:
                    expected.setdefault(by_file[Path(path).name].exercise.name, []).append(test)
            continue
        path, _, test = entry["nodeid"].partition("::")
        result = by_file.get(Path(path).name)
        if result is None:
            continue
        if entry["when"] == "collect":
            result.error = f"the tests could not be loaded: {entry['message']}"
        elif entry["when"] == "call" or entry["outcome"] != "passed":
            # a failure while setting a test up (e.g. importing your file) counts as that test failing
            outcome = "failed" if entry["outcome"] == "error" else entry["outcome"]
            result.tests.append(TestResult(test, outcome, entry["message"]))
    never = (
        f"stopped after {stall:g} s without a result: is there a loop that never ends, "
        "or a call that waits forever?"
        if stalled
        else "never finished: the test run ended before it"
    )
    for name, tests in expected.items():
        result = results[name]
        finished = {test.name for test in result.tests}
        result.tests += [TestResult(test, "failed", never) for test in tests if test not in finished]
    for result in results.values():
        if result.error or result.tests:
            continue
        if stalled:
            result.error = f"the tests were {never}"
        elif result.exercise in to_run:
            tail = "\n".join(output.strip().splitlines()[-15:])
            result.error = f"the tests did not run. pytest said:\n{tail}"
    return results


def _run_process(command: list[str], env: dict, cwd: Path, report: Path, stall: float) -> tuple[str, bool]:
    """Run ``command``; return its output and whether it was killed for ``stall`` seconds without progress.

    Progress is a new line in ``report``: each test adds one as it finishes.
    Starting up (Python, pytest, collecting the tests) may take up to a minute
    on a busy machine before the first line.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=(os.name == "posix"),  # its own process group: killed whole
        )  # fmt: skip
        try:
            size, last_progress = -1, time.monotonic()
            while True:
                try:
                    process.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now_size = report.stat().st_size if report.exists() else 0
                if now_size != size:
                    size, last_progress = now_size, time.monotonic()
                elif time.monotonic() - last_progress > (stall if size > 0 else max(stall, 60)):
                    _kill(process)
                    log.seek(0)
                    return log.read(), True
        except BaseException:  # Ctrl+C: do not leave the tests running
            _kill(process)
            raise
        log.seek(0)
        return log.read(), False


def _kill(process: subprocess.Popen) -> None:
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    else:
        process.kill()
    process.wait()


# -- the command line -------------------------------------------------------------


def add_parser(commands) -> None:
    """Add ``chatlab exercises`` to the ``chatlab`` command's subcommands."""
    parser = commands.add_parser(
        "exercises",
        help="list, check and get hints for the course's exercises",
        description=(
            "The course's exercises: edit the files in exercises/ (the lines between "
            "`# TODO` and `# END TODO`), then check them. Run inside your chatlab clone."
        ),
        epilog="exit codes: 0 passed; 1 not yet; 2 no such exercise, or not in a chatlab clone.",
    )
    parser.set_defaults(run=_run_list, action="list", timeout=DEFAULT_TIMEOUT)  # `chatlab exercises` alone
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    listing = actions.add_parser("list", help="every exercise in order, done or not")
    listing.set_defaults(run=_run_list, action="list")
    check = actions.add_parser(
        "check",
        help="run an exercise's tests (default: the next unfinished one)",
        description="Run an exercise's tests against your file; print what failed and a hint.",
    )
    check.add_argument("name", nargs="?", help="the exercise: its name (recv_exactly) or number (2)")
    check.add_argument("--all", action="store_true", help="check every exercise")
    check.set_defaults(run=_run_check, action="check")
    hint = actions.add_parser("hint", help="a nudge for one exercise, and where to read")
    hint.add_argument("name", help="the exercise: its name or number")
    hint.set_defaults(run=_run_hint, action="hint")
    for sub in (listing, check):
        sub.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            metavar="SECONDS",
            help=f"how long one test may run before it fails (default: {DEFAULT_TIMEOUT:g})",
        )


def _command(function):
    """Turn CourseError into a message on stderr and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return function(args)
        except CourseError as exc:
            print(f"chatlab exercises {args.action}: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # `chatlab exercises list | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1

    return run


@_command
def _run_list(args: argparse.Namespace) -> int:
    root = find_root()
    exercises = load_manifest(root)
    results = run(root, exercises, args.timeout)
    width = max(len(e.name) for e in exercises)
    for exercise in exercises:
        result = results[exercise.name]
        status = "done" if result.passed else "not done"
        print(f"  {exercise.number:02d}  {exercise.name:<{width}}  {status}  (exercises/{exercise.file})")
    _print_progress(exercises, results)
    return 0


@_command
def _run_check(args: argparse.Namespace) -> int:
    root = find_root()
    exercises = load_manifest(root)
    if args.all and args.name:
        raise CourseError("give an exercise's name or --all, not both")
    if args.name:
        exercise = find(exercises, args.name)
        result = run(root, [exercise], args.timeout)[exercise.name]
        _print_result(result, details=True)
        if result.passed:
            _print_next(exercises, after=result.exercise)
        return 0 if result.passed else 1
    results = run(root, exercises, args.timeout)
    if args.all:
        for exercise in exercises:
            _print_result(results[exercise.name], details=False)
        _print_progress(exercises, results)
        return 0 if all(r.passed for r in results.values()) else 1
    # The next unfinished exercise, in course order.
    for exercise in exercises:
        if not results[exercise.name].passed:
            done = sum(r.passed for r in results.values())
            print(f"{done} of {len(exercises)} exercises done. Next: {exercise.label}")
            _print_result(results[exercise.name], details=True)
            return 1
    print(f"All {len(exercises)} exercises done: your chat is complete. Well done!")
    return 0


@_command
def _run_hint(args: argparse.Namespace) -> int:
    exercise = find(load_manifest(find_root()), args.name)
    print(f"Hint for {exercise.label} (exercises/{exercise.file}):\n")
    print(_indent(exercise.hint))
    return 0


def _print_result(result: Result, details: bool) -> None:
    ok, fail = _marks()
    exercise = result.exercise
    if result.passed:
        print(f"{ok} {exercise.label}: all {len(result.tests)} tests pass")
        return
    if result.error:
        print(f"{fail} {exercise.label}: {result.error}")
    else:
        failures = result.failures
        print(f"{fail} {exercise.label}: {len(failures)} of {len(result.tests)} tests fail")
        if len(failures) == len(result.tests) > 1 and len({_first_line(t.message) for t in failures}) == 1:
            print(f"    every test: {_first_line(failures[0].message)}")
        elif len(failures) > 1 and len({_first_line(t.message) for t in failures}) == 1:
            shown = failures[: 3 if details else 1]
            for test in shown:
                print(f"    {_readable(test.name)}")
            if len(failures) > len(shown):
                print(f"    ... and {len(failures) - len(shown)} more")
            print(f"      each: {_first_line(failures[0].message)}")
        else:
            shown = failures[: 3 if details else 1]
            for test in shown:
                print(f"    {_readable(test.name)}")
                print(f"      {_first_line(test.message)}")
            if len(failures) > len(shown):
                print(f"    ... and {len(failures) - len(shown)} more")
    if details:
        print(f"\n  Your file: exercises/{exercise.file}")
        print("  Hint:")
        print(_indent(exercise.hint, "    "))
    else:
        print(f"    (details and a hint: chatlab exercises check {exercise.name})")


def _print_next(exercises: list[Exercise], after: Exercise) -> None:
    later = [e for e in exercises if e.number > after.number]
    if later:
        print(f"Next: chatlab exercises check {later[0].name}")


def _print_progress(exercises: list[Exercise], results: dict[str, Result]) -> None:
    done = sum(results[e.name].passed for e in exercises)
    if done == len(exercises):
        print(f"\nAll {done} exercises done.")
        return
    following = next(e for e in exercises if not results[e.name].passed)
    print(f"\n{done} of {len(exercises)} done. Next: chatlab exercises check {following.name}")


def _marks() -> tuple[str, str]:
    """✓ and ✗ where the terminal can show them, else ok and FAIL."""
    try:
        "✓✗".encode(sys.stdout.encoding or "ascii")
        return "✓", "✗"
    except (UnicodeEncodeError, LookupError):
        return "ok", "FAIL"


def _readable(test: str) -> str:
    """``test_end_of_stream_is_clean[alice]`` -> ``end of stream is clean [alice]``."""
    name, bracket, params = test.partition("[")
    words = name.removeprefix("test_").replace("_", " ")
    return f"{words} [{params}" if bracket else words


def _first_line(message: str, width: int = 160) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()] or ["failed"]
    line = lines[0].replace("conftest.ExerciseTimeout: ", "timed out: ").replace("conftest.CannotLoad: ", "")
    return line if len(line) <= width else line[: width - 3] + "..."


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())
