"""Two rankings -> what a person sees: the explore view and its comparison, charts, escaped HTML and
Markdown rendering, reports, the label sheet and the answer preview.

May import: config, errors, types, llm, golden, retrieve, rerank. Never Streamlit.
"""
