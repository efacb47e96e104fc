"""``reranklens serve-retriever module:object``: any LangChain or LlamaIndex retriever behind the retriever contract.

It runs in its own process, on the developer's machine, with their code and their credentials: this module
imports ``module`` (from the current directory first), takes ``object`` (a dotted attribute path; a
function without arguments is called to build it) and answers ``POST /`` with ``{"query", "n"}`` as the
contract says (``retrieve/live.py``). The app and every other command never import user modules: they
only speak HTTP to this server.

What is served, recognised by its base classes (the frameworks are imported only by the user's module):

- LangChain ``VectorStore``: ``similarity_search_with_relevance_scores(query, k=n)`` (0-1, higher is better);
- LangChain ``BaseRetriever``: ``invoke(query)``, with ``k=n`` for a vector-store retriever; no scores;
- LlamaIndex retriever: ``retrieve(query)`` with ``similarity_top_k = n`` when it has one; the node scores;
- LlamaIndex index: ``as_retriever(similarity_top_k=n)``.

Text, id and metadata are passed on as the framework holds them (a LangChain document's ``id`` and
``metadata``; a LlamaIndex node's ``node_id``, ``metadata`` plus ``ref_doc_id``), so the client maps them
with the conventions of ``retrieve/conventions.py``. Starlette (ASGI) and uvicorn serve it: small, kept, and
already installed with chromadb.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reranklens.errors import InvalidInputError

CONTRACT = "reranklens-retriever/1"
MAX_N = 1000
Retrieve = Callable[[str, int], list[dict[str, Any]]]


def _kinds(obj: object) -> set[tuple[str, str]]:
    """(top-level package, class name) of every base class: the frameworks are never imported here."""
    return {(cls.__module__.split(".")[0], cls.__name__) for cls in type(obj).__mro__}


def framework_of(obj: object) -> str | None:
    kinds = _kinds(obj)
    if ("langchain_core", "VectorStore") in kinds:
        return "LangChain VectorStore"
    if ("langchain_core", "BaseRetriever") in kinds:
        return "LangChain BaseRetriever"
    if ("llama_index", "BaseRetriever") in kinds:
        return "LlamaIndex retriever"
    if ("llama_index", "BaseIndex") in kinds:
        return "LlamaIndex index"
    return None


def load_object(spec: str) -> object:
    """``package.module:attribute.path`` -> the object (a function without arguments is called)."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise InvalidInputError(f"Name the retriever as module:object (e.g. my_app.rag:retriever), got '{spec}'.")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything while it builds its retriever
        raise InvalidInputError(f"Cannot import module '{module_name}': {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise InvalidInputError(f"Module '{module_name}' has no '{attribute}'.")
        obj = getattr(obj, part)
    if framework_of(obj) is None and callable(obj) and not isinstance(obj, type):
        try:
            obj = obj()
        except Exception as exc:  # noqa: BLE001 - a factory of the user's, called without arguments
            raise InvalidInputError(f"Calling '{spec}' without arguments failed: {type(exc).__name__}: {exc}") from exc
    if framework_of(obj) is None:
        raise InvalidInputError(
            f"'{spec}' is a {type(obj).__name__}: serve a LangChain BaseRetriever or VectorStore, or a LlamaIndex "
            "retriever or index."
        )
    return obj


def _plain(metadata: Any) -> dict[str, Any]:
    """Metadata as JSON can carry it (anything else as its string)."""
    if not isinstance(metadata, dict):
        return {}
    return dict(json.loads(json.dumps(metadata, default=str)))


def _langchain(document: Any, score: float | None) -> dict[str, Any]:
    text = str(getattr(document, "page_content", "") or "")
    doc_id = getattr(document, "id", None) or hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return {"id": str(doc_id), "text": text, "score": score, "metadata": _plain(getattr(document, "metadata", {}))}


def _llamaindex(scored: Any) -> dict[str, Any]:
    node = getattr(scored, "node", scored)
    metadata = _plain(getattr(node, "metadata", {}))
    ref = getattr(node, "ref_doc_id", None)
    if ref and "ref_doc_id" not in metadata:
        metadata["ref_doc_id"] = ref  # the source document, by the LlamaIndex convention
    score = getattr(scored, "score", None)
    return {
        "id": str(node.node_id),
        "text": node.get_content(),
        "score": None if score is None else float(score),
        "metadata": metadata,
    }


def retrieve_function(obj: object) -> Retrieve:
    """The contract's ``(query, n) -> candidates`` for a recognised framework object."""
    kind = framework_of(obj)
    lock = threading.Lock()  # a retriever's top-k is set on the object: one request at a time
    target: Any = obj

    def retrieve(query: str, n: int) -> list[dict[str, Any]]:
        with lock:
            if kind == "LangChain VectorStore":
                found = target.similarity_search_with_relevance_scores(query, k=n)
                return [_langchain(doc, float(score)) for doc, score in found]
            if kind == "LangChain BaseRetriever":
                extra = {"k": n} if hasattr(target, "search_kwargs") and hasattr(target, "vectorstore") else {}
                return [_langchain(doc, None) for doc in target.invoke(query, **extra)][:n]
            if kind == "LlamaIndex index":
                return [_llamaindex(s) for s in target.as_retriever(similarity_top_k=n).retrieve(query)][:n]
            if hasattr(target, "similarity_top_k"):
                target.similarity_top_k = n
            return [_llamaindex(s) for s in target.retrieve(query)][:n]

    return retrieve


def contract_app(retrieve: Retrieve, description: str) -> Any:
    """The ASGI app: ``POST /`` answers the contract, ``GET /`` says what is served (a health check)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def info(request: Request) -> JSONResponse:
        return JSONResponse({"contract": CONTRACT, "serves": description})

    async def answer(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse({"error": 'send JSON: {"query": str, "n": int}'}, status_code=400)
        query, n = (body.get("query"), body.get("n")) if isinstance(body, dict) else (None, None)
        if not isinstance(query, str) or not query.strip():
            return JSONResponse({"error": '"query" must be a non-empty string'}, status_code=400)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_N:
            return JSONResponse({"error": f'"n" must be an integer from 1 to {MAX_N}'}, status_code=400)
        candidates = await run_in_threadpool(retrieve, query, n)
        return JSONResponse({"candidates": candidates})

    return Starlette(routes=[Route("/", info, methods=["GET"]), Route("/", answer, methods=["POST"])])


def serve(spec: str, host: str, port: int) -> None:
    """Serve ``spec`` until interrupted (uvicorn; one line on stderr when it is up)."""
    import uvicorn

    obj = load_object(spec)
    description = f"{spec} ({framework_of(obj)})"
    app = contract_app(retrieve_function(obj), description)
    print(
        f"Serving {description} under the RerankLens retriever contract at http://{host}:{port}/ "
        f"(connect it with: reranklens connect http://{host}:{port}/ --name NAME)",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
