"""The dashboard end to end in headless Chromium (Playwright driving the system's browser).

The page must draw the flow's graph (every node's label in the SVG) and show a node's counter
advancing while the flow runs. The flow is gated (see dashhelpers): its source waits after its
first chunk until the test has seen that chunk on the page, so the test does not depend on timing.

Without a browser (or without Playwright) the test skips with a message, except in CI (the ``CI``
environment variable is set, as .ci/run does), where it fails: CI installs Debian's ``chromium``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from typing import Any

import pytest

from dashhelpers import LABELS, gated_flow, run_in_thread
from flowno_core.tooling.dashboard import Dashboard

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WAIT_MS = 15_000  # the longest wait for the page (a safety net: the page normally updates in ~0.1 s)


def browser_or_skip() -> tuple[Any, str]:
    """Playwright's ``sync_playwright`` and the system's Chromium; skip (fail in CI) without them."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright, missing = None, "the Python package playwright is not installed (pip install playwright)"
    else:
        executable = next((path for path in map(shutil.which, BROWSERS) if path), None)
        missing = "no Chromium found on PATH (apt-get install chromium)" if executable is None else ""
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the browser test cannot run: {missing}")
        pytest.skip(f"browser test skipped: {missing}")
    assert executable is not None
    return sync_playwright, executable


def test_the_page_draws_the_graph_and_a_counter_advances_while_the_flow_runs():
    sync_playwright, executable = browser_or_skip()
    from playwright.sync_api import expect

    gate = threading.Event()
    flow = gated_flow(gate, count=3)
    with Dashboard(port=0, interval=0.05, announce=False) as dash, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page()
            page_errors: list[str] = []
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.goto(dash.url)
            expect(page.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
            running, outcome = run_in_thread(flow.run_until_complete)  # (the dashboard is active there too)
            try:
                svg = page.locator("section.flow svg")
                expect(svg.locator("g.node")).to_have_count(len(LABELS), timeout=WAIT_MS)
                assert {svg.locator("g.node").nth(i).get_attribute("data-label") for i in range(len(LABELS))} == LABELS
                for label in LABELS:  # the labels are drawn as SVG text, and listed in the table
                    expect(svg.locator("text.label", has_text=label)).to_have_count(1)
                    expect(page.locator("table.nodes td.label", has_text=label)).to_have_count(1)
                expect(svg.locator("path.edge")).to_have_count(2)
                expect(svg.locator("path.edge.streaming")).to_have_count(1)
                source = svg.locator('g.node[data-label="source (Numbers)"]')
                chunks = source.locator('[data-field="chunks"]')
                expect(chunks).to_have_text("1", timeout=WAIT_MS)  # the first chunk, while the source waits
                expect(source).to_have_class(re.compile(r"\bphase-running\b"), timeout=WAIT_MS)  # in to_thread
                expect(page.locator("section.flow .run")).to_have_text("running")
                gate.set()
                expect(chunks).to_have_text("3", timeout=WAIT_MS)  # it advanced while the page watched
                expect(page.locator("section.flow .run")).to_have_text("completed", timeout=WAIT_MS)
                double = svg.locator('g.node[data-label="double (Double)"]')
                expect(double.locator('[data-field="evaluations"]')).to_have_text("1")
                expect(double.locator('[data-field="generation"]')).to_have_text("0")
            finally:
                gate.set()
                running.join(30)
            assert outcome == {"result": flow._flow.last_report}, outcome
            assert flow.double.get_data() == (6,)
            dash.close()  # the page is told, and keeps the last state it got
            expect(page.locator("#connection")).to_contain_text("stopped", timeout=WAIT_MS)
            expect(chunks).to_have_text("3")
            assert page_errors == []
        finally:
            browser.close()
