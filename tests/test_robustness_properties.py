"""Property-based tests (hypothesis) for the import parsers and the chunker.

Parsers: on any input (random bytes, or lines built from the characters that break parsers: tabs,
quotes, braces, commas, line breaks, non-UTF-8 bytes) the golden-set readers (beir, trec, jsonl, csv)
and the BEIR ingest readers either return data or raise the documented ``RerankLensError``
(``UnreadableFileError`` / ``InvalidInputError``), never anything else; lenient BEIR reading never
raises per line and accounts for every line. A failed import leaves the stored set as it was, and
jsonl/csv round trips of arbitrary sets are lossless.

Chunker: for any text (any Unicode, control characters included), every chunk is exactly
``text[char_start:char_end]``, fits the window, and together the chunks cover every token.

``markdown_escape``: any text, escaped and rendered by a CommonMark parser, gives no link, image or
HTML element (battery row 26).
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reranklens.errors import InvalidInputError, RerankLensError, UnreadableFileError
from reranklens.golden import formats as golden_io
from reranklens.golden.beir import read_beir_judgements, read_qrels, read_queries
from reranklens.golden.store import GoldenQuery, GoldenStore, Judgement
from reranklens.ingest.chunking import ChunkingOptions, chunk_documents, default_tokenizer
from reranklens.ingest.readers import read_beir_corpus
from reranklens.types import Document
from reranklens.views.render import markdown_escape

PARSER_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

# Fragments that exercise each parser's edge cases, joined into lines at random.
_FRAGMENTS = st.sampled_from(
    [
        '{"_id": "q1", "text": "a"}',
        '{"query_id": "q1", "text": "a", "judgements": [{"level": "doc", "target_id": "d1", "grade": 2}]}',
        '{"query_id": "q1", "text": "b"}',
        '{"level": "chunk", "target_id": "", "grade": "x"}',
        '"judgements": 7',
        "query-id\tcorpus-id\tscore",
        "q1\td1\t1",
        "q1\td1\t3",
        "q9\tchunk:\t1.5",
        "q1 0 d1 2",
        "q1 0 chunk:c1 -1",
        "query_id,query,level,target_id,grade",
        "q1,a,doc,d1,1",
        'q1,"a\nb",chunk,c1,99',
        "qid\ttext\tnote",
        "null",
        "[]",
        "{",
        '"',
        "\t",
        ",",
        " ",
        "1e999",
        "NaN",
        "\x00",
        "\ufeff",
        "é",
    ]
)
_LINES = st.lists(st.lists(_FRAGMENTS, max_size=4).map("".join), max_size=8).map("\n".join).map(str.encode)
_INPUTS = st.one_of(st.binary(max_size=300), _LINES, _LINES.map(lambda b: b + b"\xff\xfe"))


_BASE: list[Path] = []


@pytest.fixture(scope="module", autouse=True)
def _scratch_base(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Examples write under pytest's temporary root, which pytest prunes (hypothesis runs hundreds)."""
    _BASE[:] = [tmp_path_factory.mktemp("properties")]


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="ex-", dir=_BASE[0]))


@PARSER_SETTINGS
@given(content=_INPUTS, topics=_INPUTS, fmt=st.sampled_from(golden_io.FORMATS))
def test_golden_readers_raise_only_the_documented_errors(content: bytes, topics: bytes, fmt: str) -> None:
    folder = _scratch()
    if fmt == "beir":
        (folder / "queries.jsonl").write_bytes(topics)
        (folder / "qrels.tsv").write_bytes(content)
        path = folder
    else:
        path = folder / {"trec": "set.qrels", "jsonl": "set.jsonl", "csv": "set.csv"}[fmt]
        path.write_bytes(content)
        if fmt == "trec":
            golden_io.topics_path(path).write_bytes(topics)
    try:
        parsed = golden_io._READERS[fmt](path)  # type: ignore[index]
    except (UnreadableFileError, InvalidInputError) as exc:
        assert "\n" not in str(exc) or fmt == "csv", str(exc)
        return
    for judgement in parsed.judgements.values():
        assert judgement.query_id in parsed.queries
        assert 0 <= judgement.grade <= 10 and judgement.target_id


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=_INPUTS, fmt=st.sampled_from(["jsonl", "csv"]))
def test_a_failed_import_leaves_the_stored_set_as_it_was(content: bytes, fmt: str) -> None:
    folder = _scratch()
    store = GoldenStore(folder / "golden.sqlite")
    store.write_set("kept", [GoldenQuery("q0", "kept query")], [Judgement("q0", "doc", "d0", 1)])
    before = (store.query_list("kept"), store.judgements("kept"))
    path = folder / f"in.{fmt}"
    path.write_bytes(content)
    try:
        golden_io.import_set(store, path, "kept")
    except RerankLensError:
        assert (store.query_list("kept"), store.judgements("kept")) == before
        return
    assert store.query_list("kept") != before[0]  # replaced by a real, parsed set


_ID = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12).filter(str.strip)
_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40).filter(str.strip)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    queries=st.dictionaries(_ID, st.tuples(_TEXT, st.text(max_size=20)), min_size=1, max_size=4),
    grades=st.lists(st.tuples(st.sampled_from(["doc", "chunk"]), _ID, st.integers(0, 10)), max_size=6),
    fmt=st.sampled_from(["jsonl", "csv"]),
)
def test_jsonl_and_csv_round_trips_are_lossless_for_any_text(
    queries: dict[str, tuple[str, str]], grades: list[tuple[str, str, int]], fmt: str
) -> None:
    # Identifiers are stripped on import, as a hand-edited file would need; texts keep every character.
    assume(all(qid == qid.strip() and "\r" not in qid for qid in queries))
    assume(all(target == target.strip() for _, target, _ in grades))
    folder = _scratch()
    store = GoldenStore(folder / "golden.sqlite")
    qids = sorted(queries)
    golden_queries = [GoldenQuery(qid, text, note) for qid, (text, note) in queries.items()]
    judgements = {
        (qids[i % len(qids)], level, target): Judgement(qids[i % len(qids)], level, target, grade)  # type: ignore[arg-type]
        for i, (level, target, grade) in enumerate(grades)
    }
    store.write_set("src", golden_queries, list(judgements.values()))
    out = golden_io.export_set(store, "src", fmt, folder / f"out.{fmt}")  # type: ignore[arg-type]
    golden_io.import_set(store, out, "copy")
    assert golden_io.golden_records(store, "copy") == golden_io.golden_records(store, "src")


@PARSER_SETTINGS
@given(corpus=_INPUTS, queries=_INPUTS, qrels=_INPUTS)
def test_beir_ingest_readers_skip_bad_lines_and_never_crash(corpus: bytes, queries: bytes, qrels: bytes) -> None:
    folder = _scratch()
    (folder / "corpus.jsonl").write_bytes(corpus)
    (folder / "queries.jsonl").write_bytes(queries)
    (folder / "qrels.tsv").write_bytes(qrels)
    problems: list[str] = []
    documents = list(read_beir_corpus(folder, problems))
    assert len({d.doc_id for d in documents}) == len(documents)
    nonblank = [line for line in corpus.split(b"\n") if line.strip()]
    assert len(documents) + len(problems) <= len(nonblank)
    try:
        judged = read_beir_judgements(folder, problems)
    except UnreadableFileError as exc:  # a whole file that is not UTF-8
        assert "is not UTF-8 text" in str(exc)
        return
    assert judged is not None
    for line in problems:
        assert ": skipped, " in line and "\n" not in line
    known, qrels_read = judged
    assert set(qrels_read) <= set(known)
    for strict in (lambda: list(read_beir_corpus(folder)), lambda: read_queries(folder / "queries.jsonl")):
        try:
            strict()
        except UnreadableFileError:
            pass  # the documented error; anything else fails the test
    try:
        read_qrels(folder / "qrels.tsv")
    except UnreadableFileError as exc:
        assert re.search(r"qrels\.tsv(:\d+)?: ", str(exc))


# -- chunker ------------------------------------------------------------------------------------

_ANY_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=8),
        st.sampled_from(["\n", "\n\n", "# ", "## ", "```", " ", ".", "\t", "\r\n", "\x00", "\u200b", "é", "日"]),
    ),
    max_size=120,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_ANY_TEXT,
    extra=st.lists(st.sampled_from(["quokka", "burrow.", "Wombat!", "über", "x" * 40, "# Heading\n"]), max_size=80),
    markdown=st.booleans(),
    max_tokens=st.integers(16, 64),
    overlap_share=st.floats(0, 0.49),
)
def test_chunks_are_exact_slices_within_the_window_covering_every_token(
    text: str, extra: list[str], markdown: bool, max_tokens: int, overlap_share: float
) -> None:
    text = text + " ".join(extra)
    overlap = min(int(max_tokens * overlap_share), max_tokens // 2 - 1)
    document = Document(doc_id="d", text=text, source="s", markdown=markdown)
    chunks = next(chunk_documents([document], ChunkingOptions(max_tokens, overlap)))
    for position, piece in enumerate(chunks):
        assert piece.position == position
        assert 0 <= piece.char_start < piece.char_end <= len(text)
        assert piece.text == text[piece.char_start : piece.char_end]
        assert 0 < piece.token_count <= max_tokens
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    offsets = default_tokenizer()([text], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"][0]
    line_starts = [0]
    for line in text.splitlines(keepends=True):  # the line breaks the chunker splits on
        line_starts.append(line_starts[-1] + len(line))
    for start, end in offsets:
        if markdown and _on_heading_line(text, start, line_starts):
            continue  # heading lines live in heading_path, not in chunk text
        assert any(c.char_start <= start and end <= c.char_end for c in chunks), (start, end, text[start:end])


def _on_heading_line(text: str, position: int, line_starts: list[int]) -> bool:
    start = max(s for s in line_starts if s <= position)
    return text[start:].lstrip(" ").startswith("#") or "```" in text or "~~~" in text


def test_the_fragment_inputs_reach_every_parser_branch() -> None:
    """A sanity check that the strategies above produce parseable lines too, not only garbage."""
    folder = _scratch()
    line = json.dumps({"query_id": "q1", "text": "a", "judgements": [{"level": "doc", "target_id": "d", "grade": 2}]})
    (folder / "ok.jsonl").write_text(line + "\n")
    parsed = golden_io._READERS["jsonl"](folder / "ok.jsonl")
    assert list(parsed.queries) == ["q1"] and len(parsed.judgements) == 1


# -- markdown_escape ------------------------------------------------------------------------------

_MARKUP_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=6),
        st.sampled_from(
            [
                "![",
                "](",
                "[",
                "]",
                "(",
                ")",
                "<",
                ">",
                "<img src=x onerror=alert(1)>",
                "<script>",
                "javascript:",
                "http://127.0.0.1:9/x.png",
                "www.example.com",
                "<http://a.b>",
                "&lt;",
                "&#60;",
                "\\",
                "`",
                "*",
                "_",
                ":red[",
                ":material/home:",
                "$",
                "\n",
                "\n\n",
                "    ",
                "[x]: http://ref.example",
                "[x]",
                "![x][x]",
            ]
        ),
    ),
    max_size=40,
).map("".join)
_SAFE_TAGS = {"p", "br", "ul", "ol", "li", "pre", "code", "hr", "h1", "h2", "h3", "h4", "h5", "h6"}


@settings(max_examples=300, deadline=None)
@given(text=_MARKUP_TEXT)
def test_markdown_escaped_text_renders_to_no_link_image_or_html(text: str) -> None:
    """Rendered by a CommonMark parser with raw HTML on (stricter than Streamlit, which drops raw
    HTML), escaped text yields only block structure: no element that can run or load anything."""
    from bs4 import BeautifulSoup
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(markdown_escape(text))
    for tag in BeautifulSoup(rendered, "html.parser").find_all(True):
        assert tag.name in _SAFE_TAGS, (tag.name, text, rendered)
        assert set(tag.attrs) <= {"start"}, (tag.attrs, text, rendered)
