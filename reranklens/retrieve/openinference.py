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
    LoggedAnswer,
    ParsedLine,
    Skipped,
    Trace,
    TraceCandidate,
)

KIND = SpanAttributes.OPENINFERENCE_SPAN_KIND
DOCUMENTS = SpanAttributes.RETRIEVAL_DOCUMENTS
RETRIEVER = OpenInferenceSpanKindValues.RETRIEVER.value
LLM = OpenInferenceSpanKindValues.LLM.value


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


def documents(attributes: dict[str, Any]) -> list[TraceCandidate]:
    """The retrieval documents of a span, in index order."""
    candidates = []
    index = 0
    while any(key.startswith(f"{DOCUMENTS}.{index}.") for key in attributes):
        prefix = f"{DOCUMENTS}.{index}."
        logged_id = attributes.get(prefix + DocumentAttributes.DOCUMENT_ID)
        text = attributes.get(prefix + DocumentAttributes.DOCUMENT_CONTENT)
        score = attributes.get(prefix + DocumentAttributes.DOCUMENT_SCORE)
        metadata = attributes.get(prefix + DocumentAttributes.DOCUMENT_METADATA) or {}
        if isinstance(metadata, str):
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError:
                metadata = {"metadata": metadata}
        if not isinstance(metadata, dict):  # nested metadata was flattened: gather it back
            metadata = {}
        nested = prefix + DocumentAttributes.DOCUMENT_METADATA + "."
        metadata.update({k.removeprefix(nested): v for k, v in attributes.items() if k.startswith(nested)})
        candidates.append(
            TraceCandidate(
                id=str(logged_id) if logged_id not in (None, "") else f"doc-{index}",
                text=text if isinstance(text, str) and text else None,
                score=float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None,
                metadata=metadata,
            )
        )
        index += 1
    return candidates


def read_openinference(path: Path) -> Iterator[ParsedLine]:
    """Stream spans from ``path``: a ``Trace`` per retriever span, a ``LoggedAnswer`` per trace with an
    LLM span (yielded at the end, since spans of one trace may come in any order), ``Skipped`` lines."""
    return spans_to_traces(_span_lines(path))


def _span_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]] | Skipped]:
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                span = json.loads(line)
            except json.JSONDecodeError as exc:
                yield Skipped(number, f"not JSON ({exc.msg})")
                continue
            yield (number, span) if isinstance(span, dict) else Skipped(number, "not a JSON object")


def spans_to_traces(spans: Iterable[tuple[int, dict[str, Any]] | Skipped]) -> Iterator[ParsedLine]:
    """Numbered spans (a file's lines, or spans pulled from Phoenix) as traces; see ``read_openinference``."""
    answers: dict[str, tuple[str, str]] = {}
    retrieved: set[str] = set()
    for item in spans:
        if isinstance(item, Skipped):
            yield item
            continue
        number, span = item
        trace_id, span_id, attributes, end_time = span_fields(span)
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
            yield Trace(replay_id, query.strip(), tuple(documents(attributes)), line=number)
    for trace_id, (_, answer) in answers.items():
        yield LoggedAnswer(trace_id, answer)
