"""Where model weights come from: Hub names or local folders (with offline fallbacks) and the registry
of rerankers trained or registered here.

May import: config, errors, types.
"""
