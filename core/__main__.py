"""`python -m core ...`: the record service's command line."""

from core.cli import main

raise SystemExit(main())
