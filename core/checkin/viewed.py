"""The person is told of every check-in read, whatever desk or channel opened the card."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from core import notices
from core.consent.access import AccessRecord
from core.db import Database


def _tell(connection: Connection, access: AccessRecord, citizen_ids: tuple[int, ...]) -> None:
    for citizen_id in citizen_ids:
        notices.enqueue(connection, citizen_id, "book_viewed",
                        facility=access.facility_name or access.facility_code or "",
                        groups=sorted(group.value for group in access.groups), at=access.at.isoformat())


async def tell_viewed(db: Database, access: AccessRecord, citizen_ids: Iterable[int]) -> None:
    """A notice through the outbox to the person (and whoever showed the code for them): a channel
    that cannot message them at once (the web console) leaves it to the sender."""
    await db.write(_tell, access, tuple(dict.fromkeys(citizen_ids)))
