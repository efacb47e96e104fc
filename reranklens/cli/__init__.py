"""The ``reranklens`` command, one module per command group; ``common`` holds what they share.

May import anything in the engine; nothing in the engine imports it.
"""
