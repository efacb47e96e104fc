"""Golden sets (which chunks answer which query): the store (SQLite file or PostgreSQL), BEIR/TREC/JSONL/CSV import and
export, and LLM label suggestions.

May import: config, errors, types, llm.
"""
