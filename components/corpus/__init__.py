"""The Corpus page's parts: collections (list, browse, ingest, delete), attaching a Chroma collection, trace
sets and the Phoenix pull. May import ``corpus``, ``shared`` and the engine."""
