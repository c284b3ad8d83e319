"""The notebooks as files: stored clean, in reading order, each a complete chapter.

nbval runs them (see pyproject.toml); this checks what a reviewer and a
learner opening them on GitHub rely on.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_notebooks_are_numbered_in_reading_order():
    numbers = [int(p.name[:2]) for p in PATHS]
    assert numbers == list(range(len(PATHS))), [p.name for p in PATHS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in PATHS)


def test_no_python_files_among_the_notebooks():
    # pytest would import them as modules, and a learner would not know which to open.
    assert list(NOTEBOOKS.glob("*.py")) == []


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = load(path)
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {index} has saved outputs"
            assert cell.get("execution_count") is None, f"cell {index} has an execution count"
    assert "widgets" not in notebook["metadata"], "saved widget state makes noisy diffs"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_opens_without_asking_for_a_kernel(path):
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_notebook_opens_with_a_title_and_ends_with_exercises_or_next_steps(path):
    cells = load(path)["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    headings = [
        line for cell in cells if cell["cell_type"] == "markdown" for line in "".join(cell["source"]).splitlines()
        if line.startswith("## ")
    ]
    assert any(re.search(r"exercise|next", h, re.IGNORECASE) for h in headings), headings
