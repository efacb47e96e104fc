"""A small RAG app instrumented with OpenInference + OpenTelemetry, for the tests that need real spans:
a chain span holding a RETRIEVER span (query, ranked documents with scores and metadata) and an LLM span
whose output is the answer. The retriever ranks the outdated v1.0 page first: the bug under investigation."""

from __future__ import annotations

from collections.abc import Callable

from openinference.instrumentation import (
    Document,
    OITracer,
    get_input_attributes,
    get_output_attributes,
    get_retriever_attributes,
)

# logged id -> (text, source)
KNOWLEDGE = {
    "kb-v1.0": ("The reset link is valid for 24 hours.", "v1.0/password-reset.md"),
    "kb-v2.4": ("The reset link is valid for 15 minutes.", "v2.4/password-reset.md"),
}
QUESTIONS = ("How do I reset my password in v2.4?", "How long is the reset link valid?")


def support_bot(tracer: OITracer) -> Callable[[str], str]:
    """``answer(question)``, traced with ``tracer``: three spans per question."""

    def retrieve(question: str) -> list[str]:
        with tracer.start_as_current_span("retrieve", openinference_span_kind="retriever") as span:
            span.set_attributes(get_input_attributes(question))
            ranked = sorted(KNOWLEDGE, key=lambda key: "1.0" not in key)
            documents = [
                Document(id=key, content=KNOWLEDGE[key][0], score=1.0 - i / 10, metadata={"source": KNOWLEDGE[key][1]})
                for i, key in enumerate(ranked)
            ]
            span.set_attributes(get_retriever_attributes(documents=documents))
            return ranked

    def answer(question: str) -> str:
        with tracer.start_as_current_span("rag", openinference_span_kind="chain"):
            top = retrieve(question)[0]
            with tracer.start_as_current_span("generate", openinference_span_kind="llm") as llm:
                reply = f"According to our docs: {KNOWLEDGE[top][0]}"
                llm.set_attributes(get_output_attributes(reply))
                return reply

    return answer
