"""``python -m reranklens.cli``: the same as the ``reranklens`` command."""

from reranklens.cli.main import main

raise SystemExit(main())
