"""Golden sets (which chunks answer which query): the store (SQLite file or PostgreSQL), BEIR/TREC/JSONL/CSV
import and export, LLM label suggestions, and agreement between the people who label (scikit-learn, krippendorff).

May import: config, errors, types, llm.
"""
