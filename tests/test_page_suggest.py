"""Label suggestions under AppTest, with and without an OpenAI key, against a real local OpenAI-protocol
server: the judge's grade and reason per chunk, accepting one (origin 'suggestion', the person's name)
or choosing another grade (origin 'human', the suggestion kept), errors that keep labels and earlier
suggestions, and the Evaluate page's agreement between suggestions and people."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from openai_server import CHAT_API_KEY, OpenAIStubServer, judge_answer
from streamlit.testing.v1 import AppTest

from components.label.suggestions import NO_KEY_HELP
from components.shared import keys
from components.shared.resources import get_workspace
from reranklens.golden.agreement import team_agreement
from reranklens.golden.store import GoldenStore

pytest_plugins = ["fixtures_page", "fixtures_openai"]

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180
QUERY = "How do I rotate an API key in Acme Cloud 2.4?"
SUGGEST = "label.suggest"
_SUGGESTION = re.compile(r"suggests <b>(\d) · ")


@pytest.fixture
def label_env(offline_page_env: None) -> None:
    """The shared offline page environment (``fixtures_page.offline_page_env``), no OpenAI key."""


@pytest.fixture
def keyed_env(label_env: None, openai_env: OpenAIStubServer) -> OpenAIStubServer:
    get_workspace.clear()
    return openai_env


@pytest.fixture
def golden(page_data_dir: Path) -> GoldenStore:
    return GoldenStore(page_data_dir / "golden.sqlite")


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def label_page(golden_set: str, who: str = "") -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "label.py"), default_timeout=TIMEOUT_S)
    at.query_params["q"] = QUERY
    at.query_params["set"] = golden_set
    if who:
        at.session_state[keys.LABELER] = who
    return run_ok(at)


def shown_chunks(at: AppTest) -> list[str]:
    """Chunk ids of the grading rows, top to bottom (each grade control's key ends with its chunk id)."""
    return [group.key.rsplit("|", 1)[1] for group in at.button_group]


def suggested(at: AppTest) -> list[int]:
    return [int(m.group(1)) for h in at.html if (m := _SUGGESTION.search(h.value))]


def unescaped(text: str) -> str:
    """A Markdown element's text as the user reads it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", text)


def expected_grades(server: OpenAIStubServer) -> list[int]:
    """What the stub judge answered to the page's (single) request, in chunk order."""
    (request,) = [json.loads(str(r["body"])) for r in server.requests]
    return [g["grade"] for g in json.loads(judge_answer(request["messages"]))["grades"]]


def test_without_a_key_the_label_page_says_how_to_enable_suggestions(label_env: None) -> None:
    at = label_page(f"t-{uuid.uuid4().hex[:8]}")
    assert any(c.value == NO_KEY_HELP for c in at.caption)
    assert not [b for b in at.button if b.key == SUGGEST]
    assert at.button_group  # grading works as before


def test_suggestions_show_a_grade_and_reason_per_chunk(keyed_env: OpenAIStubServer) -> None:
    at = label_page(f"t-{uuid.uuid4().hex[:8]}")
    assert keyed_env.requests == []
    at.button(key=SUGGEST).click()
    run_ok(at)
    grades = expected_grades(keyed_env)
    assert len(grades) == len(shown_chunks(at))
    assert suggested(at) == grades
    assert any("shares" in h.value and "words with the question" in h.value for h in at.html)
    assert any("suggestion(s) from gpt-4o-mini" in c.value for c in at.caption)

    run_ok(at)  # a rerun keeps them without asking again
    assert suggested(at) == grades and len(keyed_env.requests) == 1


def test_accept_or_change_a_suggestion(keyed_env: OpenAIStubServer, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    at = label_page(name, who="ana")
    at.button(key=SUGGEST).click()
    run_ok(at)
    chunks, grades = shown_chunks(at), expected_grades(keyed_env)

    accept = next(b for b in at.button if b.key and b.key.startswith("accept|") and b.key.endswith(chunks[0]))
    assert accept.label == f"Accept {grades[0]}"
    accept.click()
    run_ok(at)
    other = (grades[1] + 1) % 4
    at.button_group[1].set_value(other)
    run_ok(at)

    query = golden.find_query(name, QUERY)
    assert query is not None
    stored = {j.target_id: j for j in golden.judgements(name, query.query_id)}
    accepted, changed = stored[chunks[0]], stored[chunks[1]]
    assert (accepted.grade, accepted.origin, accepted.who, accepted.suggested_grade) == (
        grades[0],
        "suggestion",
        "ana",
        grades[0],
    )
    assert accepted.suggested_by == "gpt-4o-mini" and accepted.note.startswith("shares ")
    assert (changed.grade, changed.origin, changed.who, changed.suggested_grade) == (other, "human", "ana", grades[1])
    assert at.button_group[0].value == grades[0]  # the control shows the accepted grade
    assert any(c.value == "✓ your label agrees" for c in at.caption)


def test_errors_keep_labels_and_earlier_suggestions(keyed_env: OpenAIStubServer, golden: GoldenStore) -> None:
    at = label_page(f"t-{uuid.uuid4().hex[:8]}")
    at.button(key=SUGGEST).click()
    run_ok(at)
    before = suggested(at)
    at.button_group[0].set_value(3)
    run_ok(at)

    for failure, message in ((429, r"rate limit reached \(429\)"), (500, r"chat request failed \(500\)")):
        keyed_env.fail_with = failure
        at.button(key=SUGGEST).click()
        run_ok(at)
        (error,) = [unescaped(e.value) for e in at.error]
        assert re.search(message, error) and error.endswith("Your labels and earlier suggestions are kept.")
        assert suggested(at) == before
        assert at.button_group[0].value == 3

    keyed_env.fail_with = None
    keyed_env.api_key = "sk-rotated"
    try:
        at.button(key=SUGGEST).click()
        run_ok(at)
    finally:
        keyed_env.api_key = CHAT_API_KEY
    (error,) = [unescaped(e.value) for e in at.error]
    assert error.startswith("OpenAI rejected the API key (401)") and CHAT_API_KEY not in error


def test_evaluate_reports_agreement(label_env: None, golden: GoldenStore) -> None:
    name = f"t-{uuid.uuid4().hex[:8]}"
    qid = golden.add_query(name, QUERY)
    golden.judge(name, qid, "chunk", "a", 3, who="ana", origin="suggestion", suggested_by="judge-1")
    golden.judge(name, qid, "chunk", "b", 0, who="ana", suggested_grade=2, suggested_by="judge-1")
    golden.judge(name, qid, "chunk", "c", 1, who="ana")
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=TIMEOUT_S).run()
    assert not at.exception
    assert any("No label of 'demo-hard' was made with a suggestion shown" in c.value for c in at.caption)
    next(s for s in at.selectbox if s.label == "Golden set").set_value(name)
    run_ok(at)
    values = {m.label: m.value for m in at.metric}
    assert values["Labels with a suggestion"] == "2"
    assert values["Accepted as suggested"] == "1"
    assert values["Exact agreement"] == "50%"
    assert values["Within one grade"] == "50%"
    table = at.dataframe[0].value
    assert table.loc["suggested 2", "person 0"] == 1 and table.loc["suggested 3", "person 3"] == 1


def test_evaluate_reports_agreement_between_people(label_env: None, golden: GoldenStore) -> None:
    """Next to the judge's agreement, the people's: pairs on the chunks both graded, and alpha over everyone."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    qid = golden.add_query(name, QUERY)
    for chunk, ana, bob in (("a", 3, 3), ("b", 0, 2), ("c", 1, 1), ("d", 2, 2)):
        golden.judge(name, qid, "chunk", chunk, ana, who="ana")
        golden.judge(name, qid, "chunk", chunk, bob, who="bob")
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=TIMEOUT_S).run()
    next(s for s in at.selectbox if s.label == "Golden set").set_value(name)
    run_ok(at)

    assert any(e.label == "Agreement between people" for e in at.expander)
    values = {m.label: m.value for m in at.metric}
    assert (values["Labelers"], values["Chunks graded by two or more"]) == ("2", "4")
    expected = team_agreement(golden.person_judgements(name))
    assert values["Krippendorff's α (ordinal)"] == f"{expected.alpha:.2f}"
    [pair] = at.dataframe[-1].value.to_dict("records")
    assert (pair["labeler A"], pair["labeler B"], pair["both graded"], pair["exact"]) == ("ana", "bob", 4, 0.75)
    assert pair["Cohen's κ (quadratic)"] == round(expected.pairs[0].kappa or 0, 3)
