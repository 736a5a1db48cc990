"""Open evidence.html in headless Chromium: what a reader sees, what the page fetched, a screenshot.

Backs the interview kit's promise that the report is one self-contained
page: `open_in_browser` loads it from disk in Debian's Chromium under
Playwright, records every request the page makes, reads back the claim rows
and the decoded size of every plot, and can save a full-page screenshot.
The browser test asserts on the result; `starlab report --screenshot`
makes the README's picture with the same code.

Playwright drives the system's Chromium (`executable_path`); it never
downloads a browser of its own.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from starlab.evidence.claim import EvidenceError

__all__ = ["LAUNCH_ARGS", "PageView", "open_in_browser"]

LAUNCH_ARGS = (
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    # Chromium's own background traffic (updates, sync, field trials) would fail on a closed
    # network and blur the check that the page itself fetches nothing.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_SCHEMES = ("file:", "data:", "about:")


@dataclass(frozen=True, slots=True)
class PageView:
    """What the browser showed for one page."""

    rows: tuple[str, ...]
    """The inner text of every table body row, in page order (one per claim in evidence.html)."""
    images: tuple[tuple[str, int], ...]
    """(alt text, decoded width in pixels) of every figure image; width 0 = failed to decode."""
    requests: tuple[str, ...]
    """Every URL the page requested, its own file included."""
    screenshot: Path | None

    @property
    def remote_requests(self) -> list[str]:
        """Requests that left the machine's disk: a self-contained page has none."""
        return [u for u in self.requests if not u.startswith(LOCAL_SCHEMES)]


def open_in_browser(
    page_path: Path,
    *,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 900,
    full_page: bool = True,
    chromium: str | None = None,
) -> PageView:
    """Load `page_path` in headless Chromium and report what it showed; optionally save a screenshot.

    The screenshot is the whole page, or with `full_page=False` the first `height` pixels.
    `chromium` is the browser binary (default: `chromium` on PATH; callers that may install
    it use `starlab.stack.prereqs.debian_binary("chromium", "chromium")`).
    """
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise EvidenceError("playwright is missing: run `make setup` (it is in the dev group)") from None
    if not page_path.is_file():
        raise EvidenceError(f"{page_path}: no such page (run `starlab report` first)")
    binary = chromium or shutil.which("chromium")
    if binary is None:
        raise EvidenceError("chromium is missing: install it (Debian: apt-get install chromium)")
    requests: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=binary, args=list(LAUNCH_ARGS), headless=True)
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.on("request", lambda r: requests.append(r.url))
                page.goto(page_path.resolve().as_uri())
                page.wait_for_load_state("load")
                rows = page.locator("tbody tr").all_inner_texts()
                images = page.eval_on_selector_all(
                    "figure img", "els => els.map(e => [e.getAttribute('alt') || '', e.naturalWidth])"
                )
                if screenshot is not None:
                    screenshot.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshot), full_page=full_page)
            finally:
                browser.close()
    except PlaywrightError as e:
        raise EvidenceError(f"headless Chromium failed on {page_path}: {str(e).splitlines()[0]}") from None
    return PageView(
        rows=tuple(rows),
        images=tuple((str(alt), int(w)) for alt, w in images),
        requests=tuple(requests),
        screenshot=screenshot,
    )
