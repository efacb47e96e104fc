"""The only Streamlit code outside pages/: cached resources, session-state keys, reusable widgets."""
