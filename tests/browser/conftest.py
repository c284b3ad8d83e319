"""Fixtures for the browser tests: a real Jupyter server with a token, and headless Chromium.

The notebooks are copied into a temporary folder, so running them in the
browser (and JupyterLab's autosave) never touches the repository. Every
server, kernel and browser is stopped in a finalizer, even when a test fails.

Chromium comes from the system (``/usr/bin/chromium`` or ``$CHATLAB_CHROMIUM``),
driven by pip's ``playwright``. Without it the tests are skipped, except in CI
(``$CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

APP_MODULES = {"lab": "jupyterlab", "notebook": "notebook"}
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
]
#: Seconds to wait for the Jupyter server to print its address (slow on a busy 2-core machine).
SERVER_START_TIMEOUT = 120
#: JupyterLab settings for the tests: no news pop-up; every cell rendered, so selectors find them.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _unavailable(why: str):
    """Skip, or fail in CI: there the browser tests must really run."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium, shared by the session's tests; closed at the end."""
    executable = os.environ.get("CHATLAB_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        _unavailable(f"no Chromium at {executable} (install it, or set CHATLAB_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except BaseException:
        playwright.stop()
        raise
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def page(chromium):
    """A fresh browser context (its own profile: no cookies, no storage) and page."""
    sharp = os.environ.get("CHATLAB_SCREENSHOTS") == "1"  # screenshots for the docs: twice the pixels
    context = chromium.new_context(
        viewport={"width": 1400, "height": 1000}, device_scale_factor=2 if sharp else 1
    )
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()


class JupyterServer:
    """A ``jupyter lab`` or ``jupyter notebook`` process serving a temporary folder."""

    def __init__(self, app: str, root: Path, home: Path) -> None:
        self.app = app
        self.root = root
        self.token = secrets.token_hex(16)
        self.port: int | None = None
        self.output: list[str] = []
        self._ready = threading.Event()  # the address is known
        self._ended = threading.Event()  # the process closed its log: it ended
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            IPYTHONDIR=str(home / "ipython"),
        )
        for name, settings in LAB_SETTINGS.items():
            path = home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter", app,
                "--allow-root",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",  # any free port; read back from the log below
                "--ServerApp.open_browser=False",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: the kernels are stopped with it
        )
        threading.Thread(target=self._read_log, name=f"jupyter-{app}-log", daemon=True).start()

    def _read_log(self) -> None:
        """Keep the log (shown when a test fails) and spot the line with the address."""
        for line in self.process.stderr:
            self.output.append(line)
            match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._ready.set()
        self._ended.set()
        self._ready.set()  # the process ended: stop waiting

    def wait_ready(self, timeout: float) -> None:
        """Wait until the server accepts connections.

        Jupyter prints its address just *before* it starts listening, and
        nothing tells when it does: so after the address, try to connect until
        it works (or the process ends, or time runs out).
        """
        deadline = time.monotonic() + timeout
        if not self._ready.wait(timeout) or self.port is None:
            raise RuntimeError(f"jupyter {self.app} did not start; its log:\n{self.log()}")
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
                return
            except ConnectionRefusedError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    why = f"jupyter {self.app} is not listening; its log:\n{self.log()}"
                    raise RuntimeError(why) from None
                self._ended.wait(0.1)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def log(self) -> str:
        return "".join(self.output[-60:])

    def stop(self) -> None:
        """Stop the server and its kernels: politely (SIGTERM), then by force."""
        if self.process.poll() is None:
            self.process.terminate()  # Jupyter shuts its kernels down on SIGTERM
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # anything left in its group
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait(10)


@pytest.fixture
def jupyter(tmp_path):
    """``jupyter(app, *notebooks)`` starts ``jupyter <app>`` on copies of the notebooks."""
    servers: list[JupyterServer] = []

    def start(app: str, *notebooks: str) -> JupyterServer:
        if importlib.util.find_spec(APP_MODULES[app]) is None:
            _unavailable(f"jupyter {app} is not installed")
        root = tmp_path / f"{app}-root"
        root.mkdir()
        for name in notebooks:
            shutil.copy(NOTEBOOKS / name, root / name)
        server = JupyterServer(app, root, tmp_path / f"{app}-home")
        servers.append(server)
        server.wait_ready(SERVER_START_TIMEOUT)
        return server

    start.servers = servers  # for the failure report below
    yield start
    for server in servers:
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, add the Jupyter server's log to the report: it says what the kernel did."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when == "call":
        start = item.funcargs.get("jupyter")
        servers = getattr(start, "servers", None) if start else None
        for server in servers or []:
            report.sections.append((f"jupyter {server.app} log", server.log()))
