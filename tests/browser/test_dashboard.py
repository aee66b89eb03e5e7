"""The review dashboard driven in headless Chromium, as a committee member would."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

ERROR_TEXT = "There was an error when executing cell"


def open_dashboard(ctx, base, width=1366, height=768):
    page = ctx.new_page()
    page.set_viewport_size({"width": width, "height": height})
    t0 = time.perf_counter()
    page.goto(base + "/voila/render/review.ipynb", wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector(".qlw-ready", timeout=120_000)
    return page, time.perf_counter() - t0


def assert_no_errors(page):
    assert ERROR_TEXT not in page.content()
    errs = page.locator(".qlwork-error")
    assert errs.count() == 0, errs.first.inner_text()


def test_dashboard_renders(voila_server, browser_context, artifacts, timings):
    page, first = open_dashboard(browser_context, voila_server)
    timings["first_render_s"] = round(first, 3)
    assert_no_errors(page)
    page.screenshot(path=str(artifacts / "dashboard_1366x768.png"), full_page=True)
    assert not [u for u in browser_context.blocked_requests if "127.0.0.1" in u]
    page.close()
