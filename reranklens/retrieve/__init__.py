"""The first stage (query -> candidates): the Chroma store, vector and BM25 search (and the BM25 index
files), reciprocal rank fusion; or another application's logged first stage (trace files, attached
stores, spans pulled from Phoenix).

May import: config, errors, types, and access (credentials stripped from addresses a person typed).
"""
