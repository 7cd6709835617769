"""Driving our pages in the system's Chromium (headless) against a live server.

``live_server``: the app served by uvicorn in a thread on a free loopback port,
against a temporary SQLite database migrated like ``tecnico db upgrade``, with
a fixed clock. ``browser``: Debian's Chromium through Playwright (never
Playwright's own download); without it the tests skip, except under CI=true,
where they fail. ``watched_page``: a page that records console errors, page
errors, failed requests and error responses, for the tests to assert on.

Set ``TECNICO_SCREENSHOTS=/some/dir`` to keep screenshots of what the tests saw.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dispatch.core.clock import FixedClock
from dispatch.core.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class LiveServer:
    url: str
    app: Any
    sessions: sessionmaker[Session]
    clock: FixedClock


@dataclass
class Watch:
    """What went wrong on a page while a test drove it."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (self.console_errors or self.failed_requests or self.error_responses)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    from dispatch.app import create_app
    from dispatch.migrate import upgrade

    root = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{root / 'tecnico.db'}"
    upgrade(url)
    settings = Settings(database_url=url, geocoder_url="", var_dir=root, worker_threads=1)
    clock = FixedClock()
    app = create_app(settings, clock=clock)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app, app.state.sessionmaker, clock)
    finally:
        app.state.events.close()
        server.should_exit = True
        thread.join(15)
        app.state.runner.shutdown(wait=True)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = Settings().chromium_path
    if not Path(path).exists():
        message = f"no Chromium at {path} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def watched_page(browser: Any, live_server: LiveServer) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB",
                                  timezone_id="America/Sao_Paulo")
    page = context.new_page()
    page.set_default_timeout(20_000)
    watch = Watch()
    page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
    page.on("pageerror", lambda e: watch.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: watch.failed_requests.append(
        f"{r.method} {r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and watch.error_responses.append(
        f"{r.request.method} {r.url}: {r.status}"))
    try:
        yield page, watch
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    where = os.environ.get("TECNICO_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)


def sign_in(page: Any, token: str) -> None:
    page.fill("#token", token)
    page.click("form#login button[type=submit]")
