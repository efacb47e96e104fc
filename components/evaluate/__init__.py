"""The Evaluate page's parts: what it scores, the pipeline picker, the jobs it runs, the results and the
judge-vs-people agreement. May import ``evaluate``, ``shared`` and the engine."""
