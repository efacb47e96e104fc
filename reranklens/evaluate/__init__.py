"""Golden set -> numbers: pipelines (vector, BM25, hybrid, +rerank) scored with ir-measures, paired
significance, saved runs and the evaluation charts.

May import: everything below it and the workspace; never train or cli.
"""
