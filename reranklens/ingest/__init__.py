"""Files -> chunks -> vectors: readers (md, txt, HTML, PDF, BEIR), token chunking, embedders, and the
idempotent ingest pipeline that writes a collection (and a BEIR folder's golden set), and the bundled demo.

May import: config, errors, types, models, llm, retrieve, golden.
"""
