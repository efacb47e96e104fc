"""The first stage (query -> candidates): the Chroma store, vector and BM25 search, reciprocal rank fusion.

May import: config, errors, types.
"""
