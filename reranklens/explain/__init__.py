"""See why a ranking came out as it did: an embedding map of the query among its candidates (a 2D
projection fitted once per collection revision and cached in the data dir), the rank flow of one query
through several stages with per-stage metrics, and their Plotly figures.

May import: config, errors, types, retrieve, rerank, golden, views, the workspace and evaluate's scoring
(the same nDCG@10 and Hit@3 code Evaluate uses). Never Streamlit, never cli.
"""
