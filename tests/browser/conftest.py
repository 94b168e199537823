"""The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
Playwright against qfweb's ASGI application under uvicorn (`live_server` here is the
`live_url` server of tests/conftest.py, so streamed responses really stream).

Every page a test opens is watched: a console error, an uncaught exception or a refusal by
the Content Security Policy fails the test at teardown. `shoot(page, name)` saves a
screenshot under /screenshots/ (git-ignored) at the current width.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from django.test.utils import modify_settings

import pytest
from playwright.sync_api import expect

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls
# from the test body are still plain sync calls (playwright-pytest #29).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# CI runs two test processes, Chromium and the server on two cores: give each step time.
expect.set_options(timeout=15_000)
CHROMIUM = os.environ.get("QF_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "correct horse battery staple"
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


# pytest-playwright keeps one Playwright (and its event loop in this thread) for the whole
# session; every async test that runs after it in the same process would then fail with
# "Runner.run() cannot be called from a running event loop". Per module, it stops before
# the next module's tests run.
@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser_type(playwright, browser_name):
    return getattr(playwright, browser_name)


@pytest.fixture(scope="module")
def launch_browser(browser_type_launch_args, browser_type):
    return lambda **options: browser_type.launch(**{**browser_type_launch_args, **options})


@pytest.fixture(scope="module")
def browser(launch_browser):
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # Without the networking flags Chromium keeps calling home, and this machine refuses.
        "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


class AsgiLiveServer:
    """What pytest-django's live_server offers (`url`, and the settings its autouse helper
    switches on around each test), served by uvicorn instead of the WSGI test server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "127.0.0.1"})


@pytest.fixture
def live_server(live_url):
    return AsgiLiveServer(live_url)


@pytest.fixture
def browser_context_args():
    # Not built on pytest-playwright's own (session-scoped, it needs the Playwright above).
    return {"viewport": WIDE, "accept_downloads": True}


FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")


class Watch:
    """What went wrong in the page: console errors, uncaught exceptions, CSP refusals.

    Chromium logs every 4xx/5xx response as a console error. A test that provokes one on
    purpose (a form error answers 422) says so with `watch.allow(422)`; the failing URLs are
    listed in the assertion to show which response it was.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.failed_urls: list[str] = []
        self.allowed: set[int] = set()

    def allow(self, *statuses: int) -> None:
        self.allowed.update(statuses)

    def console(self, message) -> None:
        failed = FAILED_LOAD.search(message.text)
        if failed and int(failed.group(1)) in self.allowed:
            return
        if message.type == "error" or "Refused to" in message.text or "Content Security Policy" in message.text:
            self.problems.append(f"console {message.type}: {message.text}")

    def response(self, response) -> None:
        if response.status >= 400 and response.status not in self.allowed:
            self.failed_urls.append(f"{response.status} {response.url}")

    def page_error(self, error) -> None:
        self.problems.append(f"uncaught: {error}")


@pytest.fixture
def watch(page):
    page.set_default_timeout(15_000)
    watched = Watch()
    page.on("console", watched.console)
    page.on("pageerror", watched.page_error)
    page.on("response", watched.response)
    # A CSP refusal is also an event in the page; count those that never reach the console.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e =>"
        " console.error('Refused to load: CSP ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    yield watched
    assert watched.problems == [], f"failed responses: {watched.failed_urls}"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("operator", "op@example.com", PASSWORD, is_staff=True, is_superuser=True)


@pytest.fixture
def signed_in(page, watch, live_server, staff):
    """A page logged in through the login form, watched for errors."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


def shoot(page, name: str) -> None:
    """Screenshots of the page at 1280 and 390 px wide, then back to 1280."""
    SHOTS.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    for label, size in (("wide", WIDE), ("narrow", NARROW)):
        page.set_viewport_size(size)
        # caret="initial": hiding the caret leaves style="" on inputs, which htmx then copies
        # into swapped content, where the CSP refuses it.
        page.screenshot(path=SHOTS / f"{slug}-{label}.png", full_page=True, caret="initial")
    page.set_viewport_size(WIDE)
