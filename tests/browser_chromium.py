"""A real browser for the dashboard tests: Debian's Chromium, driven by Playwright.

Playwright's own browser download (`playwright install`) is never used: the browser is
the system's /usr/bin/chromium, headless, with a fresh profile (Playwright makes a new
temporary user-data-dir at each launch) and the background traffic switched off, so a
test talks to nothing but the app on 127.0.0.1.

Fixtures (registered in tests/conftest.py):
- `chromium`: one browser per test module. Not per session: while Playwright's sync API
  is open it keeps an event loop running in this thread, and asyncio.run() in a later
  test module would fail. Keep browser tests few and in few modules.
- `live_server`: the test's `app` served by waitress on a free port, in a thread.
- `tab`: a page in a fresh browser context (its own cookies), at live_server.

Without /usr/bin/chromium these tests skip and say why; with CI set, they fail.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from waitress import wasyncore
from waitress.server import create_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Long enough for a slow CI machine, short enough that a hang fails quickly.
TIMEOUT_MS = 15_000


def need_chromium() -> None:
    """Skip with a reason when Chromium is missing; fail instead in CI."""
    if CHROMIUM.exists():
        return
    reason = (f"{CHROMIUM} is not installed (Debian: apt-get install chromium); "
              "the dashboard's browser tests need it")
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the tests of one module."""
    need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on http://127.0.0.1:PORT, served by waitress in a thread until the test ends."""
    sockets: dict[int, Any] = {}  # waitress's socket map, so the fixture can close it all
    server = create_server(app, map=sockets, host="127.0.0.1", port=0, threads=4,
                           ident="adref-test")
    port = server.effective_port  # type: ignore[union-attr]
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        # waitress's own way out: stop the worker threads, then close every socket,
        # which ends the loop in server.run().
        server.task_dispatcher.shutdown()
        wasyncore.close_all(sockets)
        thread.join(timeout=10)


@pytest.fixture
def tab(chromium: Browser, live_server: str) -> Iterator[Page]:
    """A fresh browser context and page, with relative URLs going to the live server."""
    context = chromium.new_context(base_url=live_server, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
