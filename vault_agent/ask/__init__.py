"""``vault ask`` and ``vault search``: plan, compute or retrieve, cite.

``plan``/``when`` read a question into a Plan (no IO); ``facts`` computes sensor
answers through the query layer with cited lines; ``answer`` lets an LLM rephrase them
under the grounding check; ``retrieve``/``fusion``/``prompts``/``citations`` answer
the other questions from the text indexes; ``ask`` ties it together and
``interactions`` logs each Q&A. See docs/ask.md and docs/retrieval.md.
"""
