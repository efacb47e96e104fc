"""``reranklens answer``: the answer a chat model gives from the vector top-k and from the reranked top-k.

Text output streams each answer as it arrives, then lists the chunks it cites; ``--json`` prints
``{"vector": {"answer", "cited", ...}, "reranked": {"answer", "cited", ...}, ...}`` (``cited``: chunk
ids in order of first mention). Without a cross-encoder the second answer comes from hybrid search,
said on stderr and in ``reranked.ranking``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from reranklens.cli.common import EXIT_OK, ensure_demo
from reranklens.llm.client import ChatModel
from reranklens.retrieve.search import MAX_CANDIDATES, MIN_CANDIDATES
from reranklens.types import SEARCH_MODES
from reranklens.views.answer import Answer, answer_both, answer_contexts, diff_citations, finish_answer, start_answer
from reranklens.views.explore import MAX_TOP_K, MIN_TOP_K

if TYPE_CHECKING:
    from reranklens.workspace import Workspace


def add_answer_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``answer`` on the top-level subparsers."""
    parser = commands.add_parser(
        "answer",
        help="answer a query with an OpenAI chat model from the vector and the reranked top-k, with citations",
        description="Needs OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server).",
    )
    parser.add_argument("text", help="the question")
    parser.add_argument("--collection", "-c", required=True)
    parser.add_argument("--top-k", "-k", type=int, default=3, help=f"chunks per answer, {MIN_TOP_K}-{MAX_TOP_K}")
    parser.add_argument("--model", "-m", help="chat model (default $OPENAI_CHAT_MODEL or gpt-4o-mini)")
    parser.add_argument(
        "--candidates", "-n", type=int, default=50, help=f"first-stage candidates, {MIN_CANDIDATES}-{MAX_CANDIDATES}"
    )
    parser.add_argument("--mode", choices=SEARCH_MODES, default="vector")
    parser.add_argument(
        "--reranker", help="cross-encoder name or directory, or http:MODEL (default $RERANKLENS_RERANKER)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=cmd_answer)


def cmd_answer(workspace: Workspace, args: argparse.Namespace) -> int:
    chat = ChatModel(workspace.settings, args.model)  # no key: refused before any search
    ensure_demo(workspace, args.collection)
    view, no_reranker = workspace.explore(
        args.text, args.collection, args.mode, args.candidates, args.top_k, args.reranker
    )
    if no_reranker:
        print(
            f"warning: no cross-encoder available, the second answer uses {view.right_title}. {no_reranker}",
            file=sys.stderr,
        )
    if args.json:
        vector, reranked = answer_both(chat, view)
        print(json.dumps(answers_dict(vector, reranked, view.right_kind), indent=2, ensure_ascii=False))
        return EXIT_OK
    answers = []
    for context in answer_contexts(view):
        print(f"== {context.title}: answer from its top-{len(context.chunks)} ({chat.model}) ==")
        stream = start_answer(chat, view.query, context)
        for piece in stream:
            sys.stdout.write(piece)
            sys.stdout.flush()
        print()
        answers.append(finish_answer(stream, context))
    _print_citations(*answers)
    return EXIT_OK


def answers_dict(vector: Answer, reranked: Answer, right_kind: str = "rerank") -> dict[str, Any]:
    """The ``--json`` shape: one entry per side, plus the model and the total usage."""

    def side(answer: Answer) -> dict[str, Any]:
        usage = answer.usage
        return {
            "answer": answer.text,
            "cited": list(answer.cited),
            "invalid_citations": list(answer.citations.invalid),
            "context": [c.chunk_id for c in answer.context.chunks],
            "ranking": answer.context.title,
            "usage": None
            if usage is None
            else {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost_usd": usage.cost_usd,
            },
        }

    diff = diff_citations(vector, reranked)
    return {
        "model": vector.model,
        "vector": side(vector),
        "reranked": side(reranked),
        "reranked_is": right_kind,
        "cited_only_by_vector": sorted(diff.only_vector),
        "cited_only_by_reranked": sorted(diff.only_reranked),
    }


def _print_citations(vector: Answer, reranked: Answer) -> None:
    diff = diff_citations(vector, reranked)
    for answer in (vector, reranked):
        print(f"-- {answer.context.title} cites:")
        if not answer.cited:
            print("   (no chunk)")
        for number, chunk_id in zip(answer.citations.numbers, answer.cited, strict=True):
            chunk = answer.context.chunks[number - 1]
            only = "  [only this answer]" if chunk_id in diff.only_in(answer.side) else ""
            print(f"   [{number}] {chunk_id}  {chunk.doc_id}{only}")
        for number in answer.citations.invalid:
            print(f"   [{number}] cites no chunk it was given")
        print(f"   {answer.usage.describe() if answer.usage else 'token usage not reported'}")
