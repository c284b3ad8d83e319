"""The course checks itself: manifest, exercises, solutions and the ``chatlab exercises`` runner.

The rule that ties an exercise to its solution (``exercises/NN_name.py`` and
``solutions/NN_name.py``):

* A *TODO region* starts at a line whose text, after its indentation, begins
  with ``# TODO`` and ends at the next line whose text is exactly ``# END TODO``.
  Regions do not nest. Both marker lines belong to the file's fixed part.
* The two files are identical line for line outside the regions, marker lines
  included, and have the same number of regions; only the lines strictly
  between the markers may differ.
* In the exercise, each region holds exactly one line, at the marker's
  indentation: ``raise NotImplementedError("exercise NAME: ...")``.

The exercise tests run only here and through the runner, never in the normal
collection: they run against copies of ``exercises/`` in a temporary folder,
once as shipped (everything must fail) and once with the solutions copied in
(everything must pass). The repository's own ``exercises/`` is never touched.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tomllib
from pathlib import Path

import pytest

from chatlab import cli
from chatlab.exercises import find_root, load_manifest, run

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
SOLUTIONS = ROOT / "solutions"
MANIFEST = load_manifest(ROOT)

#: Names the notebooks send learners to, in course order.
NAMED_IN_NOTEBOOKS = [
    "send_all",
    "recv_exactly",
    "encode_frame",
    "frame_decoder",
    "registry",
    "broadcast",
    "cleanup",
    "batching_writer",
    "graceful_shutdown",
]


def split_regions(text: str) -> tuple[list[str], list[list[str]]]:
    """Return the fixed lines (marker lines included) and the body of each TODO region."""
    fixed: list[str] = []
    bodies: list[list[str]] = []
    body: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if body is None:
            fixed.append(line)
            if stripped.startswith("# TODO"):
                body = []
        elif stripped == "# END TODO":
            bodies.append(body)
            body = None
            fixed.append(line)
        elif stripped.startswith("# TODO"):
            raise AssertionError(f"line {number}: a TODO region starts inside another one")
        else:
            body.append(line)
    assert body is None, "a `# TODO` line has no `# END TODO` after it"
    return fixed, bodies


# -- the manifest and the files ---------------------------------------------------


def test_the_manifest_lists_the_exercises_the_notebooks_name_in_order():
    assert [exercise.name for exercise in MANIFEST] == NAMED_IN_NOTEBOOKS


def test_every_exercise_has_a_numbered_file_its_tests_and_a_hint():
    for exercise in MANIFEST:
        assert exercise.file == f"{exercise.number:02d}_{exercise.name}.py", exercise
        assert exercise.tests == f"tests/test_{exercise.number:02d}_{exercise.name}.py", exercise
        assert (EXERCISES / exercise.file).is_file(), exercise.file
        assert (SOLUTIONS / exercise.file).is_file(), f"solutions/{exercise.file} is missing"
        assert (EXERCISES / exercise.tests).is_file(), exercise.tests
        assert len(exercise.hint) > 40, f"{exercise.name}: the hint is missing or too short"


def test_hints_point_somewhere_to_read():
    for exercise in MANIFEST:
        assert re.search(r"notebook|Python docs", exercise.hint), f"{exercise.name}: say where to read"


def test_no_orphan_files():
    listed = {exercise.file for exercise in MANIFEST}
    tests = {Path(exercise.tests).name for exercise in MANIFEST}
    assert {p.name for p in EXERCISES.glob("*.py")} == listed, "exercises/ holds a file the manifest omits"
    assert {p.name for p in SOLUTIONS.glob("*.py")} == listed, "solutions/ holds a file the manifest omits"
    assert {p.name for p in (EXERCISES / "tests").glob("test_*.py")} == tests
    assert not [p for p in SOLUTIONS.iterdir() if p.suffix != ".py" and p.name != "__pycache__"]


def test_solutions_mirror_exercises_file_for_file():
    assert sorted(p.name for p in EXERCISES.glob("*.py")) == sorted(p.name for p in SOLUTIONS.glob("*.py"))


@pytest.mark.parametrize("exercise", MANIFEST, ids=lambda e: e.name)
def test_the_exercise_and_its_solution_differ_only_inside_todo_regions(exercise):
    stub_fixed, stub_bodies = split_regions((EXERCISES / exercise.file).read_text(encoding="utf-8"))
    solution_fixed, solution_bodies = split_regions((SOLUTIONS / exercise.file).read_text(encoding="utf-8"))
    if stub_fixed != solution_fixed:
        diff = "\n".join(difflib.unified_diff(stub_fixed, solution_fixed, "exercise", "solution", lineterm=""))
        pytest.fail(f"{exercise.file} differs from its solution outside the TODO regions:\n{diff}")
    assert stub_bodies, f"{exercise.file} has no TODO region"
    assert len(stub_bodies) == len(solution_bodies)
    for body in solution_bodies:
        assert any(line.strip() for line in body), f"solutions/{exercise.file} has an empty TODO region"


@pytest.mark.parametrize("exercise", MANIFEST, ids=lambda e: e.name)
def test_each_todo_region_of_an_exercise_raises_not_implemented_naming_it(exercise):
    lines = (EXERCISES / exercise.file).read_text(encoding="utf-8").splitlines()
    _, bodies = split_regions("\n".join(lines))
    markers = [line for line in lines if line.strip().startswith("# TODO")]
    for marker, body in zip(markers, bodies):
        indent = marker[: len(marker) - len(marker.lstrip())]
        assert len(body) == 1, f"{exercise.file}: an exercise's TODO region holds one line"
        assert body[0].startswith(f'{indent}raise NotImplementedError("exercise {exercise.name}: '), body[0]


@pytest.mark.parametrize("exercise", MANIFEST, ids=lambda e: e.name)
def test_exercises_use_alice_and_bob(exercise):
    assert "alice" in (EXERCISES / exercise.file).read_text(encoding="utf-8")
    assert "alice" in (EXERCISES / exercise.tests).read_text(encoding="utf-8")


def test_every_exercise_the_notebooks_and_docs_name_exists():
    names = {exercise.name for exercise in MANIFEST} | {"NAME"}
    for path in [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"chatlab exercises (?:check|hint) ([A-Za-z_0-9]+)", text):
            assert name in names, f"{path.relative_to(ROOT)} names an exercise that does not exist: {name}"


def test_the_normal_test_run_does_not_collect_the_exercise_tests():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    for path in options["testpaths"]:
        assert not path.startswith(("exercises", "solutions")), f"testpaths must not include {path}"


# -- the tests, run against the exercises and the solutions -------------------------


@pytest.fixture(scope="module")
def untouched(tmp_path_factory) -> Path:
    """A copy of the course as a learner first gets it."""
    root = tmp_path_factory.mktemp("untouched")
    shutil.copytree(EXERCISES, root / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    """A copy of the course with every solution copied over its exercise."""
    root = tmp_path_factory.mktemp("solved")
    shutil.copytree(EXERCISES, root / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    for exercise in MANIFEST:
        shutil.copy(SOLUTIONS / exercise.file, root / "exercises" / exercise.file)
    return root


def test_every_test_of_every_untouched_exercise_fails(untouched):
    results = run(untouched, MANIFEST)
    for exercise in MANIFEST:
        result = results[exercise.name]
        assert result.error is None, f"{exercise.name}: {result.error}"
        assert result.tests, f"{exercise.name}: no tests ran"
        passing = [test.name for test in result.tests if test.outcome != "failed"]
        assert not passing, f"{exercise.name}: these tests pass on the untouched exercise: {passing}"


def test_every_test_passes_on_the_solutions(solved):
    results = run(solved, MANIFEST)
    for exercise in MANIFEST:
        result = results[exercise.name]
        assert result.passed, f"{exercise.name}: {result.error or [(t.name, t.message) for t in result.failures]}"


def _exercises_command(monkeypatch, capsys, folder: Path, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    code = cli.main(["exercises", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_check_all_fails_on_the_untouched_exercises(monkeypatch, capsys, untouched):
    code, output = _exercises_command(monkeypatch, capsys, untouched, "check", "--all")
    assert code == 1
    assert "0 of 9 done. Next: chatlab exercises check send_all" in output
    assert "NotImplementedError: exercise graceful_shutdown" in output


def test_check_all_passes_on_the_solutions(monkeypatch, capsys, solved):
    code, output = _exercises_command(monkeypatch, capsys, solved, "check", "--all")
    assert code == 0, output
    assert "All 9 exercises done." in output


def test_list_alone_shows_every_exercise_done(monkeypatch, capsys, solved):
    code, output = _exercises_command(monkeypatch, capsys, solved)  # `chatlab exercises` means list
    assert code == 0
    lines = [line.split() for line in output.splitlines() if line.startswith("  ")]
    assert [(number, name, status) for number, name, status, *_ in lines] == [
        (f"{e.number:02d}", e.name, "done") for e in MANIFEST
    ]


def test_a_failing_check_shows_the_hint(monkeypatch, capsys, untouched):
    code, output = _exercises_command(monkeypatch, capsys, untouched, "check", "encode_frame")
    assert code == 1
    assert "03 encode_frame" in output and "Hint:" in output and "struct" in output


def test_a_test_that_never_ends_is_stopped_with_a_clear_message(monkeypatch, capsys, tmp_path):
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    stub = tmp_path / "exercises" / "01_send_all.py"
    stub.write_text(
        stub.read_text(encoding="utf-8").replace(
            'raise NotImplementedError("exercise send_all: replace this line with your code")',
            "while True:\n        pass",
        ),
        encoding="utf-8",
    )
    code, output = _exercises_command(monkeypatch, capsys, tmp_path, "check", "send_all", "--timeout", "0.5")
    assert code == 1
    assert "timed out: still running after 0.5 s: is there a loop that never ends" in output


def test_a_run_that_stops_making_progress_is_killed_and_its_unfinished_tests_fail(tmp_path):
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    stub = tmp_path / "exercises" / "01_send_all.py"
    stub.write_text(  # a loop that also turns the per-test time limit off
        stub.read_text(encoding="utf-8").replace(
            'raise NotImplementedError("exercise send_all: replace this line with your code")',
            "import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass",
        ),
        encoding="utf-8",
    )
    send_all, recv_exactly = MANIFEST[0], MANIFEST[1]
    results = run(tmp_path, [send_all, recv_exactly], timeout=0.5, stall=2)
    assert not results["send_all"].passed
    assert "stopped after 2 s without a result" in results["send_all"].failures[0].message
    assert not results["recv_exactly"].passed, "tests that never ran must not count as passed"


def test_hint_needs_no_tests_to_run(monkeypatch, capsys):
    code, output = _exercises_command(monkeypatch, capsys, ROOT, "hint", "registry")
    assert code == 0
    assert "alias_key" in output


def test_an_unknown_name_suggests_close_ones(monkeypatch, capsys):
    code, output = _exercises_command(monkeypatch, capsys, ROOT, "hint", "brodcast")
    assert code == 2
    assert "no exercise called 'brodcast'" in output and "Did you mean broadcast?" in output


def test_outside_a_chatlab_checkout_says_so(monkeypatch, capsys, tmp_path):
    code, output = _exercises_command(monkeypatch, capsys, tmp_path, "list")
    assert code == 2
    assert "inside a clone of the chatlab repository" in output


def test_the_root_is_found_from_a_subfolder():
    assert find_root(EXERCISES / "tests") == ROOT
