"""`python -m core ...`: the record service's command line."""

from core.cli import main

# The guard matters: worker processes of a large import start by importing this module.
if __name__ == "__main__":
    raise SystemExit(main())
