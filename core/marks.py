"""Marks a database carries about itself: which kind of deployment made it.

`core seed` marks the database it creates as the demo (`demo_seed`): the sandbox
runs only on such a database, so a demo can never be pointed at real people's data.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.records.base import Base, UTCDateTime

DEMO_SEED = "demo_seed"


class DatabaseMark(Base):
    __tablename__ = "database_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
