"""The OpenAI-protocol client: chat (streamed), token usage and prices, and the mapping of its errors.

May import: config, errors, types.
"""
