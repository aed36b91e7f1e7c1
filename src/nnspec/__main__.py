"""``python -m nnspec`` runs the command line."""

from nnspec.cli.main import main

raise SystemExit(main())
