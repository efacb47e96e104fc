"""Journey "labeler": on a fresh data dir, a person opens the Label page, picks a query of
the demo set in the picker, then moves on with "Next unjudged" twice; on each query they grade two
chunks and write a note. The SQLite file then holds 6 grades and 3 notes, each on the right query,
and after a reload the page shows them again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from journey import in_first_screen, journey, screenshot, wait_idle
from playwright.sync_api import Page, expect

from reranklens.golden.store import GoldenStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PICKER = "…or pick a query of this set"
NOTE = "Note on this query (e.g. why it hallucinated)"
GRADES = ("3", "1")  # the first card gets 3, the second 1


def demo_queries() -> list[str]:
    lines = (Path(__file__).resolve().parents[1] / "data/demo/golden/queries.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def pick(page: Page, text: str) -> None:
    page.locator("[data-testid='stSelectbox']", has_text=PICKER).click()
    page.get_by_role("option", name=text, exact=True).click()
    loaded(page, text)


def loaded(page: Page, text: str) -> None:
    """The query box shows ``text`` and the page has finished drawing its candidates."""
    expect(page.get_by_label("Query", exact=True)).to_have_value(text)
    wait_idle(page)
    page.wait_for_selector(".rl-row")


def judged(page: Page) -> str:
    metric = page.locator("[data-testid='stMetric']", has_text="Judged (chunk level)")
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def grade_two_and_note(page: Page, note: str) -> list[str]:
    """Grade the first two cards (3, then 1) and save ``note``; returns the two chunk ids."""
    chunks = [page.locator(".rl-row").nth(i).get_attribute("data-chunk") or "" for i in range(2)]
    for index, grade in enumerate(GRADES):
        group = page.locator("[data-testid='stButtonGroup']").nth(index)
        group.get_by_role("radio", name=grade, exact=True).click()
        expect(page.locator("[data-testid='stMetric']", has_text="Judged (chunk level)")).to_contain_text(
            str(index + 1)
        )
        wait_idle(page)
    page.get_by_label(NOTE).fill(note)
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_text("Note saved")).to_be_visible()
    wait_idle(page)
    return chunks


def test_labeler_steps_through_the_demo_set(tmp_path: Path) -> None:
    texts = demo_queries()
    with journey(tmp_path, HF_HUB_OFFLINE="1") as trip:
        page = trip.page
        page.goto(f"{trip.url}/label")
        page.wait_for_selector(".rl-row")
        wait_idle(page)
        expect(page.get_by_text(f"0 of {len(texts)} queries judged")).to_be_visible()

        # The first query through the picker (the page opens on the set's first query), then Next twice.
        pick(page, texts[1])
        done: dict[str, tuple[list[str], str]] = {}
        note = f"note on {texts[1]}"
        done[texts[1]] = (grade_two_and_note(page, note), note)
        for expected in (texts[2], texts[3]):
            page.get_by_role("button", name="Next unjudged ▶").click()
            loaded(page, expected)
            assert judged(page) == "0"
            note = f"note on {expected}"
            done[expected] = (grade_two_and_note(page, note), note)
        expect(page.get_by_text(f"3 of {len(texts)} queries judged")).to_be_visible()
        # Grading the second card scrolled the page; back at its top, "Next unjudged" is on the first screen.
        page.get_by_role("heading", name="Label", level=1).scroll_into_view_if_needed()
        in_first_screen(page.get_by_role("button", name="Next unjudged ▶"))
        screenshot(page, "journey-labeler.png")

        golden = GoldenStore(trip.data_dir / "golden.sqlite")
        by_text = {q.text: q for q in golden.query_list("demo")}
        chunk_grades = [j for j in golden.judgements("demo") if j.level == "chunk"]
        assert len(chunk_grades) == 6
        for text, (chunks, note) in done.items():
            query = by_text[text]
            assert query.note == note
            mine = {j.target_id: j.grade for j in chunk_grades if j.query_id == query.query_id}
            assert mine == {chunks[0]: 3, chunks[1]: 1}, text
        assert sum(bool(q.note) for q in by_text.values()) == 3

        # Reload: each query shows its grades and its note again.
        page.reload()
        loaded(page, texts[3])
        for text, (chunks, note) in done.items():
            if page.get_by_label("Query", exact=True).input_value() != text:
                pick(page, text)
            expect(page.get_by_label(NOTE)).to_have_value(note)
            for index, grade in enumerate(GRADES):
                card = page.locator(".rl-row").nth(index)
                expect(card).to_have_attribute("data-chunk", chunks[index])
                group = page.locator("[data-testid='stButtonGroup']").nth(index)
                expect(group.get_by_role("radio", name=grade, exact=True)).to_be_checked()
            assert judged(page) == "2"


def test_grade_in_place_on_explore_shows_on_label(tmp_path: Path) -> None:
    """Debugging turns into labeling: a grade given on Explore (Grade in place) is the Label page's grade for
    the same set and query, and Explore's badge and Best-graded line follow it."""
    from urllib.parse import urlencode

    query = demo_queries()[0]
    with journey(tmp_path, HF_HUB_OFFLINE="1") as trip:
        page = trip.page
        page.goto(f"{trip.url}/explore?{urlencode({'q': query})}")
        page.wait_for_selector("table.rl-topk")
        wait_idle(page)
        sidebar = page.locator("[data-testid='stSidebar']")
        # The picker's default (a set holding the query: demo) is checked in tests/test_page_explore_golden.py.
        sidebar.get_by_text("Grade in place").click()
        page.wait_for_selector(".rl-graded")
        wait_idle(page)
        right = page.locator("[data-testid='stColumn']").filter(has=page.locator(".rl-graded.rl-right")).first
        chunk = right.locator(".rl-row").first.get_attribute("data-chunk") or ""
        right.locator("[data-testid='stButtonGroup']").first.get_by_role("radio", name="3", exact=True).click()
        expect(page.locator(".rl-best-graded")).to_contain_text("chunk-level grade 3")
        wait_idle(page)
        expect(page.locator(f"table.rl-topk td[data-chunk='{chunk}'] .rl-grade-3")).to_be_visible()

        page.goto(f"{trip.url}/label?{urlencode({'q': query, 'set': 'demo'})}")
        loaded(page, query)
        chunks = [row.get_attribute("data-chunk") for row in page.locator(".rl-row").all()]
        index = chunks.index(chunk)
        group = page.locator("[data-testid='stButtonGroup']").nth(index)
        expect(group.get_by_role("radio", name="3", exact=True)).to_be_checked()
        screenshot(page, "journey-explore-grade-on-label.png")

        golden = GoldenStore(trip.data_dir / "golden.sqlite")
        graded = [j for j in golden.judgements("demo") if j.level == "chunk"]
        assert [(j.target_id, j.grade, j.origin) for j in graded] == [(chunk, 3, "human")]


def test_labeling_from_the_keyboard(tmp_path: Path) -> None:
    """Keys alone: 2 grades the focused (first) chunk 2, J moves the focus so 0 grades the second chunk, and
    N opens the next unjudged query of the set."""
    texts = demo_queries()
    with journey(tmp_path, HF_HUB_OFFLINE="1") as trip:
        page = trip.page
        page.goto(f"{trip.url}/label")
        page.wait_for_selector(".rl-row")  # the first visit ingests the demo
        loaded(page, texts[0])
        expect(page.get_by_text("Keys: 0-3 grade the focused chunk")).to_be_visible()
        first, second = (page.locator(".rl-row").nth(i).get_attribute("data-chunk") or "" for i in range(2))
        expect(page.locator(".rl-row").first.locator("..").locator("..")).to_contain_text("focused")

        page.keyboard.press("2")
        first_group = page.locator("[data-testid='stButtonGroup']").nth(0)
        expect(first_group.get_by_role("radio", name="2", exact=True)).to_be_checked()
        wait_idle(page)
        page.keyboard.press("j")
        expect(page.locator(".rl-row").nth(1).locator("..").locator("..")).to_contain_text("focused")
        wait_idle(page)
        page.keyboard.press("0")
        second_group = page.locator("[data-testid='stButtonGroup']").nth(1)
        expect(second_group.get_by_role("radio", name="0", exact=True)).to_be_checked()
        wait_idle(page)
        screenshot(page, "journey-labeler-keys.png")

        golden = GoldenStore(trip.data_dir / "golden.sqlite")
        query_id = golden.find_query("demo", texts[0]).query_id  # type: ignore[union-attr]
        chunks = {j.target_id: j.grade for j in golden.person_judgements("demo", query_id) if j.level == "chunk"}
        assert chunks == {first: 2, second: 0}

        page.keyboard.press("n")
        loaded(page, texts[1])  # texts[0] is judged now: the next unjudged query opens
