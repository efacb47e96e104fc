"""RerankLens: see what a cross-encoder reranker changes in your RAG retrieval, and measure it.

``streamlit run app.py`` serves the scripts of ``pages/`` at their names (``/explore``, ``/label``, ...); each one
draws the shared frame first (``components/shared/frame.py``). This script is ``/``: it forwards to Explore.
"""

from components.shared.frame import forward_home

forward_home()
