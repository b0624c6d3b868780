"""Checks a running custseg server as a new user would meet it (used by tools/smoke_install.sh).

Every page answers, every stylesheet and script each page links is served, and in headless
Chromium every page renders without a Dash error while the pages with charts draw them from
the default data. Exits 0 when all holds, else prints what failed and exits 1.

    python tools/smoke_check.py --url http://127.0.0.1:8050 [--screenshot shot.png]
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from tools/
from tests.browser.conftest import chrome_options

PAGES = (
    "/",
    "/explore",
    "/rfm",
    "/model",
    "/segments",
    "/compare",
    "/value",
    "/changes",
    "/export",
    "/library",
)
# Pages that draw charts from the default data as soon as they open.
CHART_PAGES = ("/explore", "/rfm", "/model", "/segments", "/compare", "/value", "/changes")
# Files of ours every page must link (Dash's own bundles are checked too, by what is linked).
OWN_ASSETS = ("app.css", "bootstrap-5.3.8.min.css", "upload_guard.js", "plotly-partial.min.js")
# dcc's full plotly.js, which the partial bundle above replaces: no page may load it.
FULL_PLOTLY = (
    "return performance.getEntriesByType('resource').map(e => e.name)"
    ".filter(n => n.includes('/plotly.min.js'));"
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.urls.append(values["href"])  # type: ignore[arg-type]
        elif tag == "script" and values.get("src"):
            self.urls.append(values["src"])  # type: ignore[arg-type]


def get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


def wait_until_up(url: str, seconds: float, pid: int | None) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            get(url, timeout=5)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if pid is not None and not Path(f"/proc/{pid}").exists():
                raise SystemExit(f"the server (pid {pid}) exited before answering") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"server at {url} did not answer within {seconds:.0f} s") from None
            time.sleep(0.5)


def check_http(base: str) -> list[str]:
    problems: list[str] = []
    linked: set[str] = set()
    for page in PAGES:
        status, body = get(base + page)
        if status != 200 or b'id="react-entry-point"' not in body:
            problems.append(f"GET {page}: status {status}, not the app's page")
            continue
        parser = _Links()
        parser.feed(body.decode("utf-8", "replace"))
        linked.update(parser.urls)
    for name in OWN_ASSETS:
        if not any(name in url for url in linked):
            problems.append(f"no page links {name}")
    for url in sorted(linked):
        status, body = get(urljoin(base + "/", url))
        if status != 200 or not body:
            problems.append(f"GET {url}: status {status}, {len(body)} bytes")
    for endpoint in ("/_dash-layout", "/_dash-dependencies"):
        status, _ = get(base + endpoint)
        if status != 200:
            problems.append(f"GET {endpoint}: status {status}")
    print(f"http: {len(PAGES)} pages, {len(linked)} linked files checked")
    return problems


def check_browser(base: str, screenshot: Path | None) -> list[str]:
    problems: list[str] = []
    driver = webdriver.Chrome(options=chrome_options())
    drawn = (
        "return Array.from(document.querySelectorAll('.js-plotly-plot'))"
        ".filter(el => el.data && el.data.length > 0).length;"
    )
    try:
        for page in PAGES:
            driver.get(base + page)
            try:
                WebDriverWait(driver, 60).until(
                    lambda d: d.execute_script("return !!document.querySelector('#_pages_content')")
                )
                if page in CHART_PAGES:
                    WebDriverWait(driver, 90).until(lambda d: d.execute_script(drawn) > 0)
            except TimeoutException:
                problems.append(f"{page}: no chart drawn within the time allowed")
            errors = driver.execute_script(
                "return Array.from(document.querySelectorAll('.dash-fe-error__title, "
                ".alert-danger')).map(e => e.innerText);"
            )
            if errors:
                problems.append(f"{page}: error shown: {errors}")
            if full := driver.execute_script(FULL_PLOTLY):
                problems.append(f"{page}: loaded dcc's full plotly.js: {full}")
            print(f"browser {page}: {driver.execute_script(drawn)} charts drawn")
            if page == "/segments" and screenshot is not None:
                driver.save_screenshot(str(screenshot))
    finally:
        driver.quit()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--wait", type=float, default=180, help="seconds to wait for the server")
    parser.add_argument("--pid", type=int, help="the server's process: stop waiting if it exits")
    parser.add_argument("--screenshot", type=Path, help="save the Segments page here")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    wait_until_up(base + "/", args.wait, args.pid)
    problems = check_http(base)
    if not args.no_browser:
        problems += check_browser(base, args.screenshot)
    for problem in problems:
        print(f"FAIL {problem}")
    print("smoke check: " + ("failed" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
