"""The only Streamlit code outside pages/, grouped by the page it serves.

- ``shared/``: what every page uses: the page frame, cached resources, session-state keys, identity and roles,
  the server's job list, the reranker and trace pickers. May import nothing else of ``components``.
- ``explore/``, ``label/``, ``evaluate/``, ``corpus/``, ``models/``: what that page draws and asks. Each may import
  only itself and ``shared/``; a page script combines them. ``tests/test_layering.py`` keeps these directions.
"""
