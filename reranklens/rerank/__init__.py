"""The second stage (candidates -> a second ranking): cross-encoder, HTTP and LLM rerankers, their ONNX
backend, the score cache, the rerankers a process keeps loaded, and the untrained test model.

May import: config, errors, types, models, llm, retrieve.
"""
