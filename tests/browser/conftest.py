"""Real-browser tests: headless Chromium from Debian's packages (`apt-get install chromium`; no
browser download at run time), against the local runner on 127.0.0.1. Marked `browser`, so they
run alone with `pytest -m browser`. Without a Chromium they skip, except where
MINIRAG_REQUIRE_BROWSER=1 (`.ci/run` sets it): there a missing browser fails. Every host but
127.0.0.1 is unresolvable for the browser, so a page that needs the internet shows it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("MINIRAG_TEST_ARTIFACTS", "test-artifacts"))


def _executable() -> str | None:
    for candidate in (os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@dataclass
class Chromium:
    executable: str
    profile: Path

    def _run(self, *args: str, timeout: float = 60) -> str:
        command = [self.executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   f"--user-data-dir={self.profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                   "--virtual-time-budget=15000", *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def dom(self, url: str) -> str:
        """The page's DOM after its scripts ran."""
        return self._run("--dump-dom", url)

    def screenshot(self, url: str, path: Path, width: int = 1280, height: int = 900) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run(f"--screenshot={path}", f"--window-size={width},{height}", url)
        return path


@pytest.fixture
def chromium(tmp_path: Path) -> Chromium:
    executable = _executable()
    if executable is None:
        if os.environ.get("MINIRAG_REQUIRE_BROWSER") == "1":
            pytest.fail("no Chromium found, and MINIRAG_REQUIRE_BROWSER=1: install it (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    return Chromium(executable, tmp_path / "chromium-profile")


@pytest.fixture
def screenshot_on_failure(request: pytest.FixtureRequest, chromium: Chromium):
    """Register the page a test looks at; if the test fails, its screenshot is saved under ARTIFACTS."""
    pages: list[str] = []
    yield pages.append
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for number, url in enumerate(pages):
            saved = chromium.screenshot(url, ARTIFACTS / f"{request.node.name}-{number}.png")
            print(f"screenshot of {url}: {saved}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ARG001
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# -- Playwright, driving the same Debian Chromium ---------------------------------------------------
# `playwright install` (a browser download) is never run: `executable_path` points at the system's
# Chromium. One browser per test module (Playwright's sync API keeps an asyncio loop running while it
# is open, which would break the asyncio tests that run after this folder); a fresh context per test.


@pytest.fixture(scope="module")
def browser():
    executable = _executable()
    required = os.environ.get("MINIRAG_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("playwright is not installed, and MINIRAG_REQUIRE_BROWSER=1 (pip install -e '.[test]')")
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if executable is None:
        if required:
            pytest.fail("no Chromium found, and MINIRAG_REQUIRE_BROWSER=1: install it (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def new_page(request: pytest.FixtureRequest, browser):
    """`new_page(width=1280)`: a page in its own context; every page of a failed test is saved as a
    screenshot under ARTIFACTS."""
    contexts = []

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    report = getattr(request.node, "rep_call", None)
    for number, context in enumerate(contexts):
        if report is not None and report.failed:
            for index, page in enumerate(context.pages):
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                saved = ARTIFACTS / f"{request.node.name}-{number}-{index}.png"
                page.screenshot(path=str(saved), full_page=True)
                print(f"screenshot of {page.url}: {saved}")
        context.close()
