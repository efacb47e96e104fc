"""RerankLens: see what a cross-encoder reranker changes in your RAG retrieval, and measure it."""

import streamlit as st

from components.identity import sign_in_gate
from reranklens.config import Settings

st.set_page_config(page_title="RerankLens", page_icon="🔎", layout="wide")
sign_in_gate(Settings.from_env())  # only with [auth] in .streamlit/secrets.toml: every page requires sign-in
st.navigation(
    [
        st.Page("pages/explore.py", title="Explore", icon="🔎", default=True),
        st.Page("pages/label.py", title="Label", icon="🏷️"),
        st.Page("pages/evaluate.py", title="Evaluate", icon="📏"),
        st.Page("pages/corpus.py", title="Corpus", icon="📚"),
        st.Page("pages/models.py", title="Models", icon="🧪"),
    ]
).run()
