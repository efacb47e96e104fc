"""Chunking with the real BERT word-piece tokenizer: slices, sizes, overlaps, headings, options."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reranklens.errors import InvalidInputError
from reranklens.ingest.chunking import ChunkingOptions, chunk_documents, default_tokenizer, make_chunk_id
from reranklens.types import Chunk, Document


def chunk(text: str, max_tokens: int = 200, overlap: int = 40, markdown: bool = False, title: str = "") -> list[Chunk]:
    document = Document(doc_id="doc", text=text, source="src", title=title, markdown=markdown)
    return next(chunk_documents([document], ChunkingOptions(max_tokens, overlap)))


def token_length(text: str) -> int:
    return len(default_tokenizer()([text], add_special_tokens=False)["input_ids"][0])


def long_text(sentences: int) -> str:
    return " ".join(f"Observation {i} of the survey found {i * 3} herons near pond {i % 5}." for i in range(sentences))


def test_short_text_is_one_chunk_covering_it() -> None:
    [only] = chunk("  Herons nest in tall trees.\n")
    assert only.text == "Herons nest in tall trees."
    assert (only.char_start, only.char_end, only.position) == (2, 28, 0)
    assert only.token_count == token_length(only.text) == 7  # her ##ons nest in tall trees .


def test_long_text_gives_overlapping_windows_within_the_size() -> None:
    text = long_text(80)
    chunks = chunk(text, max_tokens=64, overlap=16)
    assert len(chunks) >= 8
    for piece in chunks:
        assert piece.text == text[piece.char_start : piece.char_end]
        assert piece.token_count <= 64
        assert token_length(piece.text) <= 64  # what the reranker will read
    for before, after in zip(chunks, chunks[1:], strict=False):
        overlap = text[after.char_start : before.char_end]
        assert before.char_start < after.char_start < before.char_end
        assert 1 <= token_length(overlap) <= 16 + 8  # about overlap_tokens, moved to a word start
    assert chunks[0].char_start == 0 and chunks[-1].char_end == len(text)


def test_zero_overlap_windows_touch_but_do_not_overlap() -> None:
    text = long_text(40)
    chunks = chunk(text, max_tokens=32, overlap=0)
    assert len(chunks) >= 4
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.char_end <= after.char_start
        assert text[before.char_end : after.char_start].strip() == ""


def test_window_ends_at_a_sentence_when_one_is_near() -> None:
    text = long_text(30)
    for piece in chunk(text, max_tokens=64, overlap=8)[:-1]:
        assert piece.text.endswith("."), piece.text[-30:]


def test_words_are_never_split() -> None:
    text = " ".join(["antidisestablishmentarianism", "floccinaucinihilipilification"] * 40)
    words = set(text.split())
    for piece in chunk(text, max_tokens=20, overlap=5):
        assert set(piece.text.split()) <= words


def test_markdown_sections_get_heading_paths_and_never_mix() -> None:
    text = "# Guide\n\nIntro.\n\n## Reset\n\nReset steps.\n\n### Mobile\n\nTap reset.\n\n## Billing\n\nPay here.\n"
    chunks = chunk(text, markdown=True)
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Guide",), "Intro."),
        (("Guide", "Reset"), "Reset steps."),
        (("Guide", "Reset", "Mobile"), "Tap reset."),
        (("Guide", "Billing"), "Pay here."),
    ]
    assert chunks[2].passage == "Guide > Reset > Mobile\n\nTap reset."
    for piece in chunks:
        assert piece.text == text[piece.char_start : piece.char_end]


def test_title_prefixes_the_heading_path() -> None:
    [only] = chunk("Body text of a web page.", title="Page Title")
    assert only.heading_path == ("Page Title",)
    assert only.passage == "Page Title\n\nBody text of a web page."


def test_text_that_is_not_markdown_keeps_hash_lines_as_text() -> None:
    [only] = chunk("# not a heading\nbody", markdown=False)
    assert only.heading_path == ()
    assert only.text == "# not a heading\nbody"


def test_headings_only_and_blank_documents_give_no_chunks() -> None:
    assert chunk("# Title\n\n## Empty section\n", markdown=True) == []
    assert chunk("   \n\t\n") == []


def test_chunk_ids_are_stable_and_depend_on_content() -> None:
    text = long_text(30)
    first, second = chunk(text, 48, 8), chunk(text, 48, 8)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)
    assert first[0].chunk_id == make_chunk_id("doc", first[0].char_start, first[0].passage)
    # Same length and token count: only the first chunk's content changes, no offset moves.
    changed = chunk(text.replace("Observation 0 ", "Observation X ", 1), 48, 8)
    assert [c.char_start for c in changed] == [c.char_start for c in first]
    assert changed[0].chunk_id != first[0].chunk_id
    assert [c.chunk_id for c in changed[1:]] == [c.chunk_id for c in first[1:]]


@pytest.mark.parametrize(
    ("max_tokens", "overlap", "message"),
    [
        (15, 0, "chunk size must be between 16 and 8192 tokens, got 15"),
        (8193, 0, "chunk size must be between 16 and 8192 tokens, got 8193"),
        (64, 32, r"chunk overlap must be between 0 and half the chunk size \(31\), got 32"),
        (64, -1, r"chunk overlap must be between 0 and half the chunk size \(31\), got -1"),
    ],
)
def test_invalid_chunking_options_are_refused(max_tokens: int, overlap: int, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ChunkingOptions(max_tokens=max_tokens, overlap_tokens=overlap)


def test_text_without_spaces_is_cut_into_full_windows() -> None:
    """CJK text (or any run longer than a window without whitespace) must still be cut into
    windows of about ``max_tokens``, not into one chunk per token."""
    text = "这是一个关于苍鹭的测试文档。" * 40  # 560 characters, one word-piece token each
    total = token_length(text)
    chunks = chunk(text, max_tokens=64, overlap=16)
    for piece in chunks:
        assert piece.text == text[piece.char_start : piece.char_end]
        assert piece.token_count <= 64
    assert len(chunks) <= total // (64 - 16) + 1, f"{len(chunks)} chunks for {total} tokens"


_WORDS = st.sampled_from(
    ["alpha", "beta.", "gamma,", "delta!", "epsilon", "zeta?", "eta;", "theta:", "iota", "kappa\n", "lambda\n\n"]
    + ["mu-nu", "xi's", "café", "naïve", "1.5", "(paren)", "# Head", "## Sub", "```", "supercalifragilistic"]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(_WORDS, min_size=1, max_size=300),
    separator=st.sampled_from([" ", "  ", "\t", "\n", " \n "]),
    markdown=st.booleans(),
    max_tokens=st.integers(16, 80),
    data=st.data(),
)
def test_chunk_invariants_hold_for_any_text(
    words: list[str], separator: str, markdown: bool, max_tokens: int, data: st.DataObject
) -> None:
    overlap = data.draw(st.integers(0, max_tokens // 2 - 1), label="overlap")
    text = separator.join(words)
    chunks = chunk(text, max_tokens, overlap, markdown=markdown)
    covered = [False] * len(text)
    for position, piece in enumerate(chunks):
        assert piece.position == position
        assert piece.text == text[piece.char_start : piece.char_end]
        assert piece.text and piece.text == piece.text.strip()
        assert 0 < piece.token_count <= max_tokens
        assert token_length(piece.text) <= max_tokens
        covered[piece.char_start : piece.char_end] = [True] * (piece.char_end - piece.char_start)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    if not markdown:  # markdown heading lines live in heading_path, not in the text
        missing = [i for i, char in enumerate(text) if not char.isspace() and not covered[i]]
        assert not missing, f"characters {missing[:5]} are in no chunk"
