"""``python -m reranklens``: the same as the ``reranklens`` command."""

from reranklens.cli.main import main

raise SystemExit(main())
