"""Golden sets (which chunks answer which query): the SQLite store, BEIR/TREC/JSONL/CSV import and
export, and LLM label suggestions.

May import: config, errors, types, llm.
"""
