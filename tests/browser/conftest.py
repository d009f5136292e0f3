"""Headless Chromium (Debian's package) driven by Playwright; no browser is ever downloaded."""
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the tests of a module (launching it costs ~2.7 s); each test has contexts of its own."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does this)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse ORM
    # calls from the test itself; the tests are synchronous, so it is safe to tell Django so.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
            _connections_close()


def _connections_close():
    # While Playwright's loop runs, Django keeps this thread's connections apart from the ordinary
    # ones; close them here, or PostgreSQL refuses to drop the test database at the end of the run.
    from django.db import connections

    connections.close_all()


@pytest.fixture
def browser(chromium, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield chromium
    for context in list(chromium.contexts):  # what the test opened (cookies, pages, routes) ends with it
        context.close()
    _connections_close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


AXE = Path(__file__).resolve().parent.parent / "node" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """axe-core's WCAG 2 A/AA violations on the page as it is now: [{id, impact, help, targets}].

    The script is evaluated through the DevTools protocol, which the page's CSP does not govern, so the
    CSP stays as strict in these tests as in production.
    """
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: npm ci --prefix tests/node (make install-test does this)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " targets: v.nodes.map(n => n.target.join(' '))})))"
    )
    return result


def sign_in(page, base: str, username: str, password: str) -> None:
    """Sign in through the login page, as a person does, and wait until the next page has loaded."""
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
