"""Notebook 04 in a real browser: run its cells, then chat in the three live panels as a learner would.

Everything waits on something a person would see (a panel, a line in a log,
the kernel going idle), never on a fixed delay.

Set ``CHATLAB_SCREENSHOTS=1`` to rewrite ``docs/panels.png`` from the JupyterLab run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

NOTEBOOK = "04_broadcast_and_aliases.ipynb"
#: Where each app opens a notebook.
OPEN = {"lab": "lab/tree", "notebook": "notebooks"}
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "panels.png"
#: Running the notebook's cells can take a while on a busy machine.
RUN_TIMEOUT = 180_000


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_three_panels_chat_live_in_the_browser(app, jupyter, page):
    from playwright.sync_api import expect

    server = jupyter(app, NOTEBOOK)
    page.goto(server.url(f"{OPEN[app]}/{NOTEBOOK}"))
    wait_for_kernel_idle(page)

    # Run every cell above the last one (which stops the server): the panels stay live.
    stop_cell = page.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=re.compile(r"^stop_server\(\)"))
    )
    expect(stop_cell).to_have_count(1)
    stop_cell.locator(".jp-InputPrompt").click()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Above Selected Cell$")).click()

    panels = page.locator(".chatlab-row .chatlab-panel")
    expect(panels).to_have_count(3, timeout=RUN_TIMEOUT)
    panel = {name: page.locator(f".chatlab-row .chatlab-panel-{name}") for name in ("alice", "bob", "carol")}
    alice, bob, carol = panel["alice"], panel["bob"], panel["carol"]
    log = {name: each.locator(".chatlab-log") for name, each in panel.items()}
    # The last cell above the stop has frank join and leave: once alice saw that, all cells ran.
    expect(log["alice"]).to_contain_text("*** frank left", timeout=RUN_TIMEOUT)
    wait_for_kernel_idle(page)
    # What the notebook's cells did shows in the panels, leave notices included.
    for name in ("alice", "bob", "carol"):
        expect(log[name]).to_contain_text("alice: hi bob, hi carol!")
        expect(log[name]).to_contain_text("*** erin left")
    expect(alice.locator(".chatlab-online")).to_contain_text("alice, bob, carol")

    # alice types and presses Enter.
    typed = "does this work from the browser too?"
    box = alice.locator(".chatlab-input input")
    box.fill(typed)
    box.press("Enter")
    expect(log["bob"]).to_contain_text(f"alice: {typed}")
    expect(log["carol"]).to_contain_text(f"alice: {typed}")
    expect(box).to_have_value("")

    # bob answers with the Send button. He saw alice's line before answering, so
    # once alice sees his answer, an echo of her own line would already be there.
    answer = "yes! typed, then the Send button"
    bob.locator(".chatlab-input input").fill(answer)
    bob.locator(".chatlab-send").click()
    expect(log["alice"]).to_contain_text(f"bob: {answer}")
    expect(log["carol"]).to_contain_text(f"bob: {answer}")
    for name in ("alice", "bob", "carol"):
        expect(line(log[name], f"alice: {typed}")).to_have_count(1)
        expect(line(log[name], f"bob: {answer}")).to_have_count(1)

    carol.locator(".chatlab-input input").fill("I see you both")
    carol.locator(".chatlab-input input").press("Enter")
    expect(log["alice"]).to_contain_text("carol: I see you both")
    expect(log["bob"]).to_contain_text("carol: I see you both")
    if app == "lab" and os.environ.get("CHATLAB_SCREENSHOTS") == "1":
        page.locator(".chatlab-row").screenshot(path=str(SCREENSHOT))

    # The last cell stops the server: every panel shows the notice and goes offline.
    stop_cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    for name, each in panel.items():
        expect(log[name]).to_contain_text("*** server shutting down", timeout=RUN_TIMEOUT)
        expect(each.locator(".chatlab-alias")).to_contain_text("(offline)")
        expect(each.locator(".chatlab-input input")).to_be_disabled()
    wait_for_kernel_idle(page)
    # The only error shown is the one the notebook makes on purpose (a taken alias).
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("AliasRefused")


def line(log, text: str):
    """The lines of a panel's log that are exactly ``text``."""
    return log.locator(".chatlab-line").filter(has_text=re.compile(f"^{re.escape(text)}$"))


def wait_for_kernel_idle(page) -> None:
    """Wait until the notebook has a Python kernel and it is idle."""
    from playwright.sync_api import expect

    expect(page.locator(".jp-Toolbar-kernelName").first).to_contain_text("Python 3", timeout=RUN_TIMEOUT)
    expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first).to_be_visible(
        timeout=RUN_TIMEOUT
    )
