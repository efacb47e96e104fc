""" "See why" in a real browser: the embedding map and the rank flow render on the demo with no page error,
and the map's hover text of a chunk whose heading is markup shows that markup as text.

Each check gets a fresh server on its own copy of the session's pre-ingested store, with the untrained
test cross-encoder as its reranker (mechanics only: its scores mean nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from app_server import skip_without_chromium
from journey import screenshot, wait_idle
from journey_pages import fresh_data_dir, journey
from playwright.sync_api import Page, expect

from reranklens.config import Settings
from reranklens.workspace import Workspace

if TYPE_CHECKING:
    from fixtures_page import XssDoc

pytest_plugins = ["fixtures_page"]
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMEOUT_MS = 300_000
MAP = ".st-key-rl-why-map .js-plotly-plot"
FLOW = ".st-key-rl-why-flow .js-plotly-plot"
# The page position of the map point whose hover heading contains ``needle`` (from the figure's own axes).
POINT_JS = """(gd, needle) => {
  const layout = gd._fullLayout, box = gd.getBoundingClientRect();
  for (const trace of gd.data) {
    for (let i = 0; i < trace.x.length; i++) {
      if (String(trace.customdata[i][1]).includes(needle)) {
        return {x: box.left + layout.xaxis._offset + layout.xaxis.l2p(trace.x[i]),
                y: box.top + layout.yaxis._offset + layout.yaxis.l2p(trace.y[i])};
      }
    }
  }
  return null;
}"""


def page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_map_and_rank_flow_render_on_the_demo(
    page_data_dir: Path,
    tmp_path: Path,
    test_cross_encoder_dir: Path,
    show_log_on_failure: Callable[[Path], None],
) -> None:
    skip_without_chromium()
    data_dir, log = fresh_data_dir(page_data_dir, tmp_path), tmp_path / "streamlit.log"
    show_log_on_failure(log)
    with journey(data_dir, log, TIMEOUT_MS, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as j:
        errors = page_errors(j.page)
        j.page.goto(j.url)
        j.page.wait_for_selector(".rl-row")
        wait_idle(j.page)
        expect(j.page.get_by_role("heading", name="See why")).to_be_attached()
        j.page.locator(MAP).scroll_into_view_if_needed()
        expect(j.page.locator(f"{MAP} .scatterlayer .point").first).to_be_visible()
        assert j.page.locator(f"{MAP} .scatterlayer .point").count() > 100  # the sample, not only the candidates
        j.page.locator(FLOW).scroll_into_view_if_needed()
        expect(j.page.locator(f"{FLOW} .scatterlayer .trace").first).to_be_visible()
        expect(j.page.locator(f"{FLOW} .xtick").first).to_contain_text("Vector")
        screenshot(j.page, "see-why.png")
        assert errors == []


def test_map_hover_shows_markup_as_text(
    page_data_dir: Path,
    tmp_path: Path,
    test_cross_encoder_dir: Path,
    xss_doc: XssDoc,
    add_xss_neighbours: Callable[[Workspace], None],
    show_log_on_failure: Callable[[Path], None],
) -> None:
    skip_without_chromium()
    data_dir, log = fresh_data_dir(page_data_dir, tmp_path), tmp_path / "streamlit.log"
    add_xss_neighbours(Workspace(Settings(data_dir=data_dir)))
    show_log_on_failure(log)
    with journey(data_dir, log, TIMEOUT_MS, RERANKLENS_RERANKER=str(test_cross_encoder_dir)) as j:
        errors = page_errors(j.page)
        dialogs: list[str] = []
        j.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        j.page.goto(f"{j.url}/?{urlencode({'collection': xss_doc.collection, 'q': xss_doc.query})}")
        j.page.wait_for_selector(".rl-row")
        wait_idle(j.page)
        plot = j.page.locator(MAP)
        plot.scroll_into_view_if_needed()
        expect(plot.locator(".scatterlayer .point").first).to_be_visible()
        point = plot.evaluate(POINT_JS, "Field notes")
        assert point is not None
        j.page.mouse.move(point["x"], point["y"])
        hover = j.page.locator(f"{MAP} .hoverlayer .hovertext")
        expect(hover).to_contain_text(xss_doc.heading)
        assert j.page.locator(f"{MAP} .hoverlayer b[onmouseover], {MAP} .hoverlayer img").count() == 0
        screenshot(j.page, "see-why-markup.png")
        assert errors == [] and dialogs == []
