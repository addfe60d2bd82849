"""Browser fixtures: Debian's Chromium driven by Playwright (sync API), against the real server.

Never `playwright install`: the browser is /usr/bin/chromium (apt-get install chromium).
Screenshots go to test-artifacts/screenshots/ (git-ignored): one per page when a test fails,
and those a test takes with `shot(page, name)`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
# Console errors that are the browser's own report of expected network conditions.
EXPECTED_CONSOLE = ("Failed to load resource", "ERR_INTERNET_DISCONNECTED")

_names = itertools.count(1)
_run = random.randint(100, 999)


def unique_pseudo(base: str) -> str:
    """A pseudo no other test of this run uses (3-20 letters/digits/_)."""
    return f"{base}{_run}{next(_names)}"[:20]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# Package scope: sync Playwright keeps an event loop running in this thread while it lives,
# which would break the asyncio tests of the packages that run after this one.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's Chromium is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    yield b
    b.close()
    pw.stop()


class Pages:
    """Creates browser contexts/pages; records JS errors; screenshots on failure."""

    def __init__(self, browser: Any, base_url: str, request: pytest.FixtureRequest):
        self.browser = browser
        self.base_url = base_url
        self.request = request
        self.contexts: list[Any] = []
        self.pages: list[tuple[str, Any]] = []
        self.errors: list[str] = []

    def new(self, name: str, width: int = 1280, height: int = 800, **ctx: Any) -> Any:
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, locale="fr-FR", **ctx
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))
        page.on(
            "console",
            lambda m: self.errors.append(f"{name}: console: {m.text}")
            if m.type == "error" and not any(x in m.text for x in EXPECTED_CONSOLE)
            else None,
        )
        self.contexts.append(context)
        self.pages.append((name, page))
        return page

    def close(self) -> None:
        rep = getattr(self.request.node, "rep_call", None)
        if rep is not None and rep.failed:
            SHOTS.mkdir(parents=True, exist_ok=True)
            test = re.sub(r"[^\w.-]+", "_", self.request.node.name)
            for name, page in self.pages:
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(SHOTS / f"{test}-{name}-failure.png"))
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Any, server: Any, request: pytest.FixtureRequest) -> Iterator[Pages]:
    p = Pages(browser, server.url, request)
    yield p
    p.close()
    assert not p.errors, "JavaScript errors in the page:\n" + "\n".join(p.errors)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source (tests/browser/node_modules, installed here if missing)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core (apt-get install npm)")
        cmd = [npm, "ci", "--silent", "--no-audit", "--no-fund"]
        if subprocess.run(cmd, cwd=HERE, check=False).returncode != 0:
            subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    return AXE.read_text(encoding="utf-8")


def enter(
    page: Any,
    base_url: str,
    pseudo: str,
    gender: str = "femme",
    age: int = 30,
    postal: str = "75011",
    wait_online: bool = True,
) -> None:
    """Fills the entry form like a person and waits for the chat screen to be online."""
    page.goto(base_url)
    page.get_by_test_id("entry-form").wait_for()
    page.get_by_label("Pseudo").fill(pseudo)
    page.locator(f"[data-testid=entry-gender-{gender}]").check(force=True)
    page.get_by_label("Âge").fill(str(age))
    page.get_by_label("Code postal").fill(postal)
    page.get_by_test_id("entry-submit").click()
    if wait_online:
        page.locator("[data-testid=conn-status][data-state=online]").wait_for()


def staff_login(page: Any, base: str, pseudo: str, password: str, secret: str) -> None:
    """Logs into the staff console with password and a fresh TOTP code."""
    page.goto(base + "/staff/")
    page.get_by_label("Pseudo").fill(pseudo)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_label("Code à usage unique").fill(pyotp.TOTP(secret).now())
    page.get_by_test_id("staff-login-submit").click()
    page.get_by_test_id("staff-console").wait_for()


Factory = Callable[..., Any]
