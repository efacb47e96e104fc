"""The Explore page's parts: inputs, the two rankings and the story, the shoot-out, the tour, a trace replay,
the answer preview. May import ``explore``, ``shared`` and the engine."""
