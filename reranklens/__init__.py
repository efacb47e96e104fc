"""RerankLens: see what a cross-encoder reranker changes in your RAG retrieval, and measure it."""

__version__ = "0.2.0.dev0"
