"""The committed pages a reader opens first (reports/report.html, reports/index.html): every link target exists, every
embedded image decodes, and, where a Chromium is installed (Debian's `chromium`), a real browser draws every image."""
from pathlib import Path

import pytest

from spine_study.report import browser_problems, find_browser, html_problems

REPORTS = Path(__file__).resolve().parents[1] / "reports"
PAGES = [REPORTS / "report.html", REPORTS / "index.html"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_committed_page_links_and_images(page):
    assert page.is_file(), f"{page} is not committed: `make study` (or `make report`, `make index`) writes it"
    assert html_problems(page) == []


@pytest.mark.skipif(find_browser() is None, reason="no Chromium on this machine (apt-get install chromium)")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_committed_page_in_a_browser(page, tmp_path):
    shot = tmp_path / f"{page.stem}.png"
    assert browser_problems(page, screenshot=shot) == []
    assert shot.stat().st_size > 10_000   # the browser drew a page, not a blank
