"""Observer: statistics over rollups, grounded LLM phrasing, memory facts, day notes.

Layers (each one concept): ``baseline``/``stats`` compute numbers from rollup files,
``facts`` turns them into notable facts, ``rules`` phrases facts without an LLM,
``grounding`` checks an LLM's phrasing against the facts, ``llm`` (+ backends) talks
to a model, ``observer`` ties it together per observe window, ``memory`` learns
typical patterns, ``daynote`` writes the note of a closed day.
"""
