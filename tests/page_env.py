"""Environment shared by the page tests (AppTest and the real browser)."""

# Variables that would point a page or server at another store, embedder or reranker than the test's.
FOREIGN_ENV = (
    "RERANKLENS_RERANKER",
    "RERANKLENS_EMBEDDER",
    "RERANKLENS_RERANK_URL",
    "RERANKLENS_RERANK_BACKEND",
    "RERANKLENS_RERANK_MAX_TOKENS",
    "RERANKLENS_CHUNK_TOKENS",
    "RERANKLENS_CHUNK_OVERLAP",
    "CHROMA_HOST",
    "CHROMA_PORT",
)
