"""The Models page's parts: the registry table, a model's card, registering and training. May import
``models``, ``shared`` and the engine."""
