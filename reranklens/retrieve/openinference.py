"""OpenInference spans (Arize Phoenix, the OpenInference instrumentations) as traces.

Input: JSONL, one span per line, in the shape OpenTelemetry's SDK writes (``ReadableSpan.to_json()``:
``context.trace_id``, ``attributes`` with flat dotted keys) or with nested attributes
(``{"retrieval": {"documents": [{"document": {...}}]}}``) or Phoenix's flat columns
(``context.trace_id``, ``attributes.input.value``), or as Phoenix's REST API returns them (the kind in
``span_kind``, see ``reranklens.retrieve.phoenix``). Every RETRIEVER span becomes one trace: its
``input.value`` is the query and its ``retrieval.documents.N.document.id|content|score|metadata`` the
candidates in order. The ``output.value`` of an LLM span of the same trace is the answer (the last
one to end, when there are several). Attribute names come from ``openinference-semantic-conventions``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from openinference.semconv.trace import DocumentAttributes, OpenInferenceSpanKindValues, SpanAttributes

from reranklens.retrieve.traces import (
    ANSWER_TRACE_SEPARATOR,
    NESTED_TOO_DEEPLY,
    LoggedAnswer,
    ParsedLine,
    Skipped,
    Trace,
    TraceCandidate,
    load_json_line,
)

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
DOCUMENTS = SpanAttributes.RETRIEVAL_DOCUMENTS
RETRIEVER = OpenInferenceSpanKindValues.RETRIEVER.value
LLM = OpenInferenceSpanKindValues.LLM.value
# Bounds of one import (it holds the trace store's write lock): documents kept per retriever span (a
# reranker sees a few hundred candidates at most) and spans read per file or Phoenix pull.
MAX_DOCUMENTS_PER_SPAN = 1_000
MAX_SPANS = 100_000


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attribute objects and lists as OpenTelemetry's flat dotted keys (lists by index)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, inner in items:
        flat.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def span_fields(span: dict[str, Any]) -> tuple[str, str, dict[str, Any], str]:
    """(trace id, span id, flat attributes, end time) of one span in any of the accepted shapes; the
    span kind is in the attributes (Phoenix keeps it beside them as ``span_kind``)."""
    context = span.get("context") if isinstance(span.get("context"), dict) else {}
    trace_id = str(context.get("trace_id") or span.get("context.trace_id") or span.get("trace_id") or "")
    span_id = str(context.get("span_id") or span.get("context.span_id") or span.get("span_id") or "")
    if isinstance(span.get("attributes"), dict):
        attributes = flatten(span["attributes"])
    else:
        attributes = flatten({k.removeprefix("attributes."): v for k, v in span.items() if k.startswith("attributes.")})
    if KIND not in attributes and span.get("span_kind"):
        attributes[KIND] = span["span_kind"]
    return _hex(trace_id), _hex(span_id), attributes, str(span.get("end_time") or "")


def _hex(identifier: str) -> str:
    return identifier.removeprefix("0x")


def documents(attributes: dict[str, Any], limit: int = MAX_DOCUMENTS_PER_SPAN) -> tuple[list[TraceCandidate], int]:
    """The first ``limit`` retrieval documents of a span, in index order, and how many the span holds.

    One pass over the attributes: a span with thousands of documents has tens of thousands of flat keys
    (``retrieval.documents.N.document.id|content|score|metadata...``), and the import runs under the trace
    store's write lock. Documents are counted from 0 up to the first missing index.
    """
    prefix = DOCUMENTS + "."
    fields: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, name = key[len(prefix) :].partition(".")
        if name and index.isascii() and index.isdigit() and str(int(index)) == index:
            fields.setdefault(int(index), {})[name] = value
    total = 0
    while total in fields:
        total += 1
    return [_candidate(index, fields[index]) for index in range(min(total, limit))], total


def _candidate(index: int, fields: dict[str, Any]) -> TraceCandidate:
    """One document from its fields (``document.id``, ``document.content``, ...), metadata gathered back."""
    logged_id = fields.get(DocumentAttributes.DOCUMENT_ID)
    text = fields.get(DocumentAttributes.DOCUMENT_CONTENT)
    score = fields.get(DocumentAttributes.DOCUMENT_SCORE)
    metadata = fields.get(DocumentAttributes.DOCUMENT_METADATA) or {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except (json.JSONDecodeError, RecursionError):
            metadata = {"metadata": metadata}
    metadata = dict(metadata) if isinstance(metadata, dict) else {}  # nested metadata was flattened: gather it
    nested = DocumentAttributes.DOCUMENT_METADATA + "."
    metadata.update({k.removeprefix(nested): v for k, v in fields.items() if k.startswith(nested)})
    return TraceCandidate(
        id=str(logged_id) if logged_id not in (None, "") else f"doc-{index}",
        text=text if isinstance(text, str) and text else None,
        score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
        metadata=metadata,
    )


def read_openinference(path: Path) -> Iterator[ParsedLine]:
    """Stream spans from ``path``: a ``Trace`` per retriever span, a ``LoggedAnswer`` per trace with an
    LLM span (yielded at the end, since spans of one trace may come in any order), ``Skipped`` lines."""
    return spans_to_traces(_span_lines(path))


def _span_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]] | Skipped]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            span, problem = load_json_line(line)
            if problem:
                yield Skipped(number, problem)
                continue
            yield (number, span) if isinstance(span, dict) else Skipped(number, "not a JSON object")


def spans_to_traces(
    spans: Iterable[tuple[int, dict[str, Any]] | Skipped],
    max_documents: int = MAX_DOCUMENTS_PER_SPAN,
    max_spans: int = MAX_SPANS,
) -> Iterator[ParsedLine]:
    """Numbered spans (a file's lines, or spans pulled from Phoenix) as traces; see ``read_openinference``.

    At most ``max_spans`` spans are read and ``max_documents`` documents kept per retriever span; each cut
    is reported as a ``Skipped`` line naming what was left out.
    """
    answers: dict[str, tuple[str, str]] = {}
    retrieved: set[str] = set()
    read = 0
    for item in spans:
        if isinstance(item, Skipped):
            yield item
            continue
        number, span = item
        read += 1
        if read > max_spans:
            yield Skipped(number, f"over {max_spans:,} spans in one import: this span and the rest were not read")
            break
        try:
            trace_id, span_id, attributes, end_time = span_fields(span)
        except RecursionError:
            yield Skipped(number, NESTED_TOO_DEEPLY)
            continue
        kind = str(attributes.get(KIND, "")).upper()
        if kind == LLM and trace_id:
            output = attributes.get(SpanAttributes.OUTPUT_VALUE)
            if isinstance(output, str) and end_time >= answers.get(trace_id, ("", ""))[0]:
                answers[trace_id] = (end_time, output)
            continue
        if kind != RETRIEVER:
            continue  # chains, embeddings, tools: not a retrieval
        query = attributes.get(SpanAttributes.INPUT_VALUE)
        if not trace_id:
            yield Skipped(number, "retriever span without a trace id")
        elif not isinstance(query, str) or not query.strip():
            yield Skipped(number, f"retriever span without {SpanAttributes.INPUT_VALUE}")
        else:
            # A second retrieval in the same trace gets TRACE.SPAN as its id.
            replay_id = trace_id if trace_id not in retrieved else f"{trace_id}{ANSWER_TRACE_SEPARATOR}{span_id}"
            retrieved.add(trace_id)
            candidates, total = documents(attributes, max_documents)
            yield Trace(replay_id, query.strip(), tuple(candidates), line=number)
            if total > len(candidates):
                yield Skipped(number, f"retriever span with {total:,} documents: kept the first {len(candidates):,}")
    for trace_id, (_, answer) in answers.items():
        yield LoggedAnswer(trace_id, answer)
