"""Session-state keys, in one place so pages and components never disagree on a string."""

from __future__ import annotations

QUERY = "explore.query"
COLLECTION = "explore.collection"
CANDIDATES = "explore.candidates"
TOP_K = "explore.top_k"
MODE = "explore.mode"
RERANKER = "explore.reranker"
THRESHOLD = "explore.threshold"
URL_LOADED = "explore.url_loaded"
GOLDEN_SET = "label.golden_set"
LABELER = "label.who"
LABEL_SCOPE = "label.scope"
QUERY_NOTE = "label.note"
PICKED_QUERY = "label.picked_query"
LABEL_ERROR = "label.error"
