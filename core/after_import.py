"""What follows a file imported into the record, whoever imported it (the command line, the
console): first, people the register now says have died are ended as a confirmed report ends
them (core.volunteering.deaths); then the dashboards' figures are counted again, so they show
what was imported, not what was there before."""

from __future__ import annotations

from core.db import Database
from core.reporting import figures
from core.volunteering import deaths


async def after_import(db: Database) -> None:
    await deaths.end_after_register(db)
    await figures.refresh(db)


__all__ = ["after_import"]
