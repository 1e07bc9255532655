"""Observer: statistics over rollups, grounded LLM phrasing, memory facts, day notes.

Layers (each one concept): ``baseline``/``stats`` compute numbers from rollup files,
``facts`` turns them into notable facts, ``rules`` phrases facts without an LLM,
``phrasing`` asks a model (``vault_agent.llm``) and keeps its text only if
``vault_agent.llm.grounding`` accepts it, ``observer`` ties it together per observe
window, ``memory`` learns typical patterns, ``daynote`` writes the note of a closed day.
"""
