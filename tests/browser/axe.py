"""axe-core (WCAG 2.1 A/AA) in headless Chromium, for the accessibility checks of
``test_accessibility`` and of the every-page walk (``test_every_page``).

axe-core is the engine behind most accessibility checkers; the ``axe-core-python`` package
bundles it (``axe.min.js``, no download at run time).
"""

from __future__ import annotations

import json
from typing import Any

from axe_core_python.base import AXE_SCRIPT
from dash.testing.composite import DashComposite
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 60
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DRAWN = (
    "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
    ".filter(el => el.data && el.data.length > 0).length;"
)
BUSY = "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length;"
RUN_AXE = (
    "const done = arguments[arguments.length - 1];"
    "axe.run(document, %s).then(r => done(r.violations)).catch(e => done(String(e)));"
)


def settle(dash_duo: DashComposite, *, charts: bool = True) -> None:
    """Wait until the page content is there, its charts are drawn and no callback is running."""
    dash_duo.wait_for_element("#_pages_content", timeout=TIMEOUT)
    wait = WebDriverWait(dash_duo.driver, TIMEOUT, poll_frequency=0.25)
    if charts:
        wait.until(lambda d: d.execute_script(DRAWN) > 0)
    wait.until(lambda d: d.execute_script(BUSY) == 0)


def violations(dash_duo: DashComposite) -> list[str]:
    """axe's WCAG 2.1 A/AA violations on the page as it is now, one line per failing element."""
    driver = dash_duo.driver
    driver.set_script_timeout(TIMEOUT)
    driver.execute_script(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    found: Any = driver.execute_async_script(RUN_AXE % json.dumps(options))
    assert not isinstance(found, str), f"axe failed to run: {found}"
    return [
        f"{v['id']} ({v['impact']}): {node['target']} {node['html'][:120]}"
        for v in found
        for node in v["nodes"]
    ]
