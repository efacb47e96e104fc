"""Chunks written by other applications: which metadata key holds the document id, source and heading.

RerankLens' own collections store ``doc_id``/``source``/``heading_path``. The frameworks that most
often write Chroma use their own keys, recognised here without flags (flags override):

- LangChain: ``source`` (file path or URL) and ``page`` / ``page_label`` (PDF loaders). The document
  is the source; the heading is ``page N``.
- LlamaIndex: ``ref_doc_id`` (the source document), ``file_name`` / ``file_path``, ``header_path``
  (markdown parser), and ``_node_content`` (the whole node as JSON, whose ``text`` stands in when
  the Chroma document itself is empty). A ``ref_doc_id`` that is an opaque UUID or hash (what LlamaIndex's
  readers assign, new on every load) gives way to the file name, path or source: that is what a
  person recognises in a table, and what stays the same when the application indexes the file again.

Anything else: the chunk is its own document, and the source is empty.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reranklens.types import Chunk

Convention = Literal["reranklens", "llamaindex", "langchain", "plain"]
# A hex digest as a document id (sha1, sha256, md5): as unreadable as a UUID.
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{32,64}$")


@dataclass(frozen=True)
class MetadataKeys:
    """Metadata keys named by the user (``--id-key``, ``--source-key``, ``--heading-key``); None: detect."""

    id_key: str | None = None
    source_key: str | None = None
    heading_key: str | None = None


def detect_convention(meta: Mapping[str, Any] | None) -> Convention:
    """Which framework wrote this chunk's metadata (``plain`` when none is recognised)."""
    meta = meta or {}
    if "doc_id" in meta and "heading_path" in meta:
        return "reranklens"
    if "_node_content" in meta or "ref_doc_id" in meta:
        return "llamaindex"
    if "source" in meta:
        return "langchain"
    return "plain"


def majority_convention(metas: Iterable[Mapping[str, Any] | None]) -> Convention:
    """The convention most chunks of a sample follow (ties: the first seen)."""
    counts: dict[Convention, int] = {}
    for meta in metas:
        convention = detect_convention(meta)
        counts[convention] = counts.get(convention, 0) + 1
    return max(counts, key=lambda c: counts[c]) if counts else "plain"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def is_opaque_id(value: str) -> bool:
    """True for an id a person cannot read: a UUID (any version, with or without dashes) or a hex digest.

    >>> is_opaque_id("bdc2a6b3-b160-4dff-9eb4-6fe8ea064179"), is_opaque_id("guide.md")
    (True, False)
    """
    try:
        uuid.UUID(value)
    except ValueError:
        return bool(_HEX_DIGEST.match(value))
    return True


def _node_content(meta: Mapping[str, Any]) -> dict[str, Any]:
    try:
        node = json.loads(str(meta.get("_node_content") or "{}"))
    except json.JSONDecodeError:
        return {}
    return node if isinstance(node, dict) else {}


def map_chunk(chunk_id: str, text: str | None, meta: Mapping[str, Any] | None, keys: MetadataKeys) -> Chunk:
    """A foreign chunk as a RerankLens ``Chunk``: document id, source and heading from ``keys`` when
    given, else from the recognised convention. ``position`` is 0 (foreign stores do not say)."""
    meta = dict(meta or {})
    convention = detect_convention(meta)
    if convention == "reranklens" and keys == MetadataKeys():
        return Chunk.from_metadata(chunk_id, text or "", meta)
    body = text or ""
    doc_id = source = heading = ""
    if convention == "llamaindex":
        node = _node_content(meta)
        body = body or _text(node.get("text"))
        node_meta = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
        doc_id = _text(meta.get("ref_doc_id") or meta.get("document_id") or meta.get("doc_id"))
        source = _text(meta.get("file_path") or meta.get("file_name") or node_meta.get("file_name"))
        readable = _text(meta.get("file_name") or node_meta.get("file_name") or source or meta.get("source"))
        if readable and (not doc_id or is_opaque_id(doc_id)):
            doc_id = readable
        heading = _text(meta.get("header_path") or node_meta.get("header_path")).strip("/").replace("/", " > ")
    elif convention == "langchain":
        source = _text(meta.get("source"))
        doc_id = source
        page = meta.get("page_label", meta.get("page"))
        heading = f"page {page}" if page is not None and page != "" else ""
    if keys.id_key:
        doc_id = _text(meta.get(keys.id_key))
    if keys.source_key:
        source = _text(meta.get(keys.source_key))
    if keys.heading_key:
        heading = _text(meta.get(keys.heading_key))
    return Chunk(
        chunk_id=chunk_id,
        doc_id=doc_id or chunk_id,
        text=body,
        source=source,
        position=0,
        heading_path=(heading,) if heading else (),
        char_end=len(body),
    )
