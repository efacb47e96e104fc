"""The Label page under AppTest: grading, re-grading, clearing, notes, orphans, doc-level grades,
and the hand-over from Explore. Each test labels into its own golden set of the shared data dir."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.shared.resources import get_workspace
from reranklens.golden.store import GoldenStore

pytest_plugins = ["fixtures_page"]

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180
QUERY = "How do I rotate an API key in Acme Cloud 2.4?"


@pytest.fixture
def label_env(page_data_dir: Path, monkeypatch: pytest.MonkeyPatch, test_cross_encoder_dir: Path) -> Iterator[None]:
    for name in ("RERANKLENS_EMBEDDER", "RERANKLENS_RERANK_URL", "CHROMA_HOST", "CHROMA_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(page_data_dir))
    monkeypatch.setenv("RERANKLENS_RERANKER", str(test_cross_encoder_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_workspace.clear()
    yield
    get_workspace.clear()


@pytest.fixture
def golden(page_data_dir: Path) -> GoldenStore:
    return GoldenStore(page_data_dir / "golden.sqlite")


def label_page(query: str, golden_set: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "label.py"), default_timeout=TIMEOUT_S)
    at.query_params["q"] = query
    at.query_params["set"] = golden_set
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def chunk_of(at: AppTest, index: int) -> str:
    """The chunk id behind the index-th grade control (its key ends with the chunk id)."""
    return at.button_group[index].key.rsplit("|", 1)[1]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_grade_regrade_and_clear(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(QUERY, name)
    assert not at.exception
    assert metric(at, "Judged (chunk level)") == "0"
    first = chunk_of(at, 0)

    at.button_group[0].set_value(3).run()
    assert not at.exception
    [judgement] = golden.judgements(name)
    assert (judgement.target_id, judgement.grade, judgement.level, judgement.origin) == (first, 3, "chunk", "human")
    assert golden.queries(name) == {judgement.query_id: QUERY}
    assert metric(at, "Judged (chunk level)") == "1"

    at.button_group[0].set_value(1).run()
    assert [(j.target_id, j.grade) for j in golden.judgements(name)] == [(first, 1)]

    at.button_group[0].set_value(None).run()
    assert golden.judgements(name) == []


def test_already_judged_chunks_show_their_grade(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(QUERY, name)
    second = chunk_of(at, 1)
    query_id = golden.add_query(name, QUERY)
    golden.judge(name, query_id, "chunk", second, 2)
    at = label_page(QUERY, name)
    assert at.button_group[1].value == 2
    assert at.button_group[0].value is None


def test_unjudged_in_top_k_flag_counts_down(label_env: None) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(QUERY, name, k="3")
    before = int(metric(at, "Unjudged in a top-3"))
    assert before >= 3
    assert sum("unjudged in top-3" in h.proto.body for h in at.get("html")) == before
    at.button_group[0].set_value(0).run()
    assert int(metric(at, "Unjudged in a top-3")) == before - 1


def test_query_note_is_saved(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(QUERY, name)
    at.text_area[0].input("vector search put the 1.0 page first")
    at.button[0].click()
    at.run()
    assert not at.exception
    [query] = golden.query_list(name)
    assert (query.text, query.note) == (QUERY, "vector search put the 1.0 page first")


def test_orphaned_label_is_shown_not_dropped(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    query_id = golden.add_query(name, QUERY)
    golden.judge(name, query_id, "chunk", "chunk-that-was-deleted", 3)
    at = label_page(QUERY, name)
    warnings = [w.value for w in at.warning]
    assert any("no longer exist" in w and "chunk-that-was-deleted" in w for w in warnings)
    assert [j.target_id for j in golden.judgements(name)] == ["chunk-that-was-deleted"]


def test_doc_level_grades_of_imported_sets_show_on_chunks(label_env: None) -> None:
    at = label_page("How do I reset my password in v2.4?", "demo")
    assert not at.exception
    bodies = [h.proto.body for h in at.get("html")]
    graded = [b for b in bodies if "document graded 2" in b]
    assert graded and all("v2.4/password-reset.md" in b for b in graded)


def test_explore_hands_query_and_settings_to_label(label_env: None) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
    at.query_params["q"] = QUERY
    at.query_params["k"] = "4"
    at.run()
    assert not at.exception
    next(b for b in at.button if "Label this query" in b.label).click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["🏷️ Label"]
    assert at.text_input[0].value == QUERY
    assert any(m.label == "Unjudged in a top-4" for m in at.metric)


def copy_of_demo_set(golden: GoldenStore) -> tuple[str, list[str]]:
    """A fresh golden set holding the demo set's queries (no grades), and their texts in order."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    texts = [q.text for q in golden.query_list("demo")][:4]
    for text in texts:
        golden.add_query(name, text)
    return name, texts


def test_picking_a_query_of_the_set_loads_it(label_env: None, golden: GoldenStore) -> None:
    """The picker set the query box's state after the box existed, and crashed."""
    name, texts = copy_of_demo_set(golden)
    at = label_page("", name)
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "…or pick a query of this set")
    picker.select(texts[2]).run()
    assert not at.exception
    assert at.text_input[0].value == texts[2]
    assert any(m.label == "Judged (chunk level)" for m in at.metric)
    # Once more after a query is loaded (the crash also happened then).
    next(s for s in at.selectbox if s.label == "…or pick a query of this set").select(texts[1]).run()
    assert not at.exception
    assert at.text_input[0].value == texts[1]


def test_next_and_previous_unjudged_step_through_the_set(label_env: None, golden: GoldenStore) -> None:
    name, texts = copy_of_demo_set(golden)
    golden.judge(name, golden.add_query(name, texts[1]), "chunk", "some-chunk", 2)
    at = label_page(texts[0], name)
    assert not at.exception
    assert at.get("progress")[0].proto.text.startswith(f"1 of {len(texts)} queries judged")

    next(b for b in at.button if b.label == "Next unjudged ▶").click().run()
    assert not at.exception
    assert at.text_input[0].value == texts[2]  # texts[1] is judged: skipped
    assert next(s for s in at.selectbox if s.label == "…or pick a query of this set").value == texts[2]

    next(b for b in at.button if b.label == "◀ Previous unjudged").click().run()
    assert at.text_input[0].value == texts[0]
    next(b for b in at.button if b.label == "◀ Previous unjudged").click().run()
    assert at.text_input[0].value == texts[3]  # wraps around

    at.button_group[0].set_value(3).run()
    assert at.get("progress")[0].proto.text.startswith(f"2 of {len(texts)} queries judged")


def test_note_box_shows_the_stored_note_of_the_current_set_and_query(label_env: None, golden: GoldenStore) -> None:
    """The note box kept the last query's note, and was empty after a set switch."""
    name, texts = copy_of_demo_set(golden)
    other = f"t-{uuid.uuid4().hex[:8]}"
    golden.add_query(other, texts[0], note="note kept in the other set")
    at = label_page(texts[0], name)
    at.text_area[0].input("first query's note")
    next(b for b in at.button if b.label == "Save note").click()
    at.run()
    assert golden.find_query(name, texts[0]).note == "first query's note"

    at.text_input[0].input(texts[1]).run()
    assert not at.exception
    assert at.text_area[0].value == ""
    next(b for b in at.button if b.label == "Save note").click()
    at.run()
    assert golden.find_query(name, texts[0]).note == "first query's note"

    at.text_input[0].input(texts[0]).run()
    assert at.text_area[0].value == "first query's note"
    at.selectbox(key="label.golden_set").select(other).run()
    assert not at.exception
    assert at.text_area[0].value == "note kept in the other set"


def grade_chunk(at: AppTest, index: int) -> str:
    """The chunk id behind the index-th grade control of the list (adjudicate controls left aside)."""
    return [g.key for g in at.button_group if g.key.startswith("grade|")][index].rsplit("|", 1)[1]


def test_keys_grade_the_focused_chunk_and_move_the_focus(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(QUERY, name)
    first, second = grade_chunk(at, 0), grade_chunk(at, 1)
    assert any(c.value.startswith("⌨️ Keys:") for c in at.caption)  # the one-line key legend
    assert sum("⌨️ focused" in h.proto.body for h in at.get("html")) == 1

    at.button(key="label.key.2").click().run()
    assert not at.exception
    assert [(j.target_id, j.grade) for j in golden.person_judgements(name)] == [(first, 2)]
    assert at.button_group[0].value == 2

    at.button(key="label.key.down").click().run()
    at.button(key="label.key.3").click().run()
    at.button(key="label.key.up").click().run()
    at.button(key="label.key.0").click().run()
    assert not at.exception
    assert {j.target_id: j.grade for j in golden.person_judgements(name)} == {first: 0, second: 3}


def test_two_peoples_grades_show_side_by_side_and_an_admin_adjudicates(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    chunk = grade_chunk(label_page(QUERY, name), 0)
    query_id = golden.add_query(name, QUERY)
    golden.judge(name, query_id, "chunk", chunk, 3, note="the exact steps", who="ana")
    golden.judge(name, query_id, "chunk", chunk, 0, note="<b>other</b> product", who="bob")

    at = label_page(QUERY, name)

    assert not at.exception
    assert [e.label for e in at.expander if e.label.startswith("Disagreements")] == ["Disagreements (1)"]
    assert any(c.value.startswith("Others: ana 3, bob 0 · the set uses 2") for c in at.caption)
    assert at.button_group[0].value is None  # this person (unnamed) has not graded it
    [decide] = [g for g in at.button_group if g.key.startswith("label.adjudicate|")]
    decide.set_value(2).run()  # without sign-in the local user is an admin
    assert not at.exception
    assert golden.qrels(name, "chunk") == {query_id: {chunk: 2}}
    assert [(a.grade, a.target_id) for a in golden.adjudications(name)] == [(2, chunk)]
    assert any(c.value.startswith("Decided: grade 2 by") for c in at.caption)


def test_a_blind_set_hides_other_grades_until_the_labeler_grades(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    chunk = grade_chunk(label_page(QUERY, name), 0)
    query_id = golden.add_query(name, QUERY)
    golden.judge(name, query_id, "chunk", chunk, 3, who="ana")
    golden.set_blind(name, True)

    at = label_page(QUERY, name)
    assert any(c.value == "1 other grade(s) hidden until you grade (blind set)" for c in at.caption)
    assert not any(c.value.startswith("Others:") for c in at.caption)

    at.button_group[0].set_value(1).run()
    assert any(c.value.startswith("Others: ana 3 · the set uses 2") for c in at.caption)
