"""The first stage (query -> candidates): the Chroma store, vector and BM25 search (and the BM25 index
files), reciprocal rank fusion; or another application's first stage: logged (trace files, spans pulled from
Phoenix), its store attached, or its retriever called live over HTTP (connections, the contract's client,
``serve-retriever``).

May import: config, errors, types, and access (credentials stripped from addresses a person typed).
"""
