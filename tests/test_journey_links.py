"""Journey "a shared link": every page's URL, with its query parameters, opened as the first request to a
freshly started server, shows the app's frame (the page's tab title, the menu of page names, no list of
file names) and the page itself; on a phone (390x844) Explore's first screen holds the top-k before and
after. One fresh server per URL: a warmed-up server hides exactly the failure this guards against."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from journey import screenshot, wait_idle
from journey_pages import demo_journey
from playwright.sync_api import Page, expect

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 300_000
MENU = ["Explore", "Label", "Evaluate", "Corpus", "Models"]
PASSWORD = "q=How+do+I+reset+my+password+in+v2.4%3F&collection=demo&n=20&k=3"
# (URL opened first, the page it must land on, its title, something only that page shows)
LINKS = [
    (f"/?{PASSWORD}", "/explore", "Explore", "table.rl-topk"),
    (f"/label?{PASSWORD}&set=demo", "/label", "Label", "text=queries judged"),
    ("/evaluate?collection=demo", "/evaluate", "Evaluate", "text=Golden set"),
    ("/corpus", "/corpus", "Corpus", "text=Browse chunks"),
    ("/models", "/models", "Models", "text=Fine-tune a reranker"),
]
PHONE = {"width": 390, "height": 844}


def assert_frame(page: Page, title: str) -> None:
    """The app's frame: its tab title, the menu with every page's name, and no list of script names."""
    expect(page).to_have_title(f"{title} · RerankLens")
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    links = page.locator("[data-testid='stSidebar'] [data-testid='stPageLink']")
    expect(links).to_have_count(len(MENU))
    texts = links.all_inner_texts()
    assert all(name in text for name, text in zip(MENU, texts, strict=True)), texts
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)
    sidebar = page.locator("[data-testid='stSidebar']").inner_text()
    assert "app" not in sidebar.split(), sidebar  # Streamlit's own list would name the scripts: app, corpus, ...


@pytest.mark.parametrize(("link", "path", "title", "marker"), LINKS, ids=[row[2] for row in LINKS])
def test_first_request_to_a_link_shows_the_app(
    link: str,
    path: str,
    title: str,
    marker: str,
    page_data_dir: Path,
    tmp_path: Path,
    show_log_on_failure: Callable[[Path], None],
) -> None:
    with demo_journey(page_data_dir, tmp_path, show_log_on_failure, TIMEOUT_MS) as trip:
        page = trip.page
        page.goto(trip.url + link)
        page.locator(marker).first.wait_for()
        wait_idle(page)
        assert page.url.split("?")[0] == trip.url + path, page.url
        assert_frame(page, title)
        if "q=" in link:
            expect(page.get_by_label("Query", exact=True)).to_have_value("How do I reset my password in v2.4?")
        screenshot(page, f"journey-link-{title.lower()}.png")


def test_explore_on_a_phone_shows_before_and_after_first(
    page_data_dir: Path, tmp_path: Path, show_log_on_failure: Callable[[Path], None]
) -> None:
    with demo_journey(page_data_dir, tmp_path, show_log_on_failure, TIMEOUT_MS) as trip:
        page = trip.page
        page.set_viewport_size(PHONE)
        page.goto(f"{trip.url}/explore?{PASSWORD}")
        top_k = page.locator("table.rl-topk")
        top_k.wait_for()
        wait_idle(page)
        box = top_k.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= PHONE["height"], f"the before/after top-3 ends below the first screen: {box}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        expect(top_k.locator("tbody tr")).to_have_count(3)
        screenshot(page, "journey-link-phone-explore.png")
        for link, _, title, marker in LINKS:
            page.goto(trip.url + link)
            page.locator(marker).first.wait_for()
            wait_idle(page)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{title} scrolls sideways on a phone: {width} px wide"
