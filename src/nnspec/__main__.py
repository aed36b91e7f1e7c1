"""``python -m nnspec`` runs the command line (Ctrl-C during start-up included)."""

import sys

try:
    from nnspec.cli.main import main
except KeyboardInterrupt:
    print("nnspec: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
