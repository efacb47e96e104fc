"""The Label page's parts: the grading list, the set navigator and notes, LLM grade suggestions, grading a
trace. May import ``label``, ``shared`` and the engine."""
