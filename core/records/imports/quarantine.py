"""The quarantine: clinic submissions the record could not take in, kept whole.

A submission nobody on the record matches, or one that cannot be read, is kept
with its payload as received and the reason as a catalogue message, so nothing
a clinic sent is lost and an operator can see why. When the clinic later sends
the same visit and it is taken in, the waiting copies are settled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Database
from core.i18n import N_, Message
from core.records.operations import QuarantinedSubmission, QuarantineReason

QUARANTINE_LABELS = {
    QuarantineReason.NO_MATCHING_CITIZEN: N_("No matching resident"),
    QuarantineReason.UNREADABLE: N_("Unreadable"),
}

_QUARANTINE = QuarantinedSubmission.__table__


def message_to_json(message: Message) -> dict[str, Any]:
    """A message as the quarantine stores it: catalogue id and parameters, not rendered text,
    so each operator reads it in their own language."""
    return {"msgid": message.msgid,
            "params": {k: message_to_json(p) if isinstance(p, Message) else p
                       for k, p in message.params.items()}}


def message_from_json(data: dict[str, Any]) -> Message:
    params = {k: message_from_json(p) if isinstance(p, dict) and "msgid" in p else p
              for k, p in (data.get("params") or {}).items()}
    return Message(str(data.get("msgid", "")), params)


class QuarantineBatch:
    """The quarantine rows of one transaction; an identical waiting row is not stored twice
    (importing the same file again changes nothing)."""

    def __init__(self, file_name: str, run_id: int | None, now: dt.datetime) -> None:
        self.file_name = file_name[:255]
        self.run_id = run_id
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def add(self, facility_code: str | None, visit_key: str | None, payload: bytes,
            reason: QuarantineReason, detail: Message) -> None:
        self.rows.append({
            "import_run_id": self.run_id,
            "received_at": self.now,
            "file_name": self.file_name,
            "facility_code": facility_code,
            "visit_key": visit_key,
            "reason": reason,
            "detail": message_to_json(detail),
            "payload": payload,
            "resolved_at": None,
        })

    def settle(self, key: tuple[str, str]) -> None:
        """A later submission of the same visit in this batch was taken in."""
        for row in self.rows:
            if (row["facility_code"], row["visit_key"]) == key:
                row["resolved_at"] = self.now

    @staticmethod
    def _identity(row: Any) -> tuple[Any, ...]:
        return (row["facility_code"], row["visit_key"], QuarantineReason(row["reason"]),
                hashlib.sha256(row["payload"]).hexdigest())

    async def store(self, connection: AsyncConnection) -> None:
        if not self.rows:
            return
        keys = {r["visit_key"] for r in self.rows if r["visit_key"]}
        q = _QUARANTINE.c
        waiting = {self._identity(r._mapping) for r in await connection.execute(
            select(q.facility_code, q.visit_key, q.reason, q.payload).where(
                q.resolved_at.is_(None),
                or_(q.visit_key.in_(keys), and_(q.visit_key.is_(None), q.file_name == self.file_name)),
            ))}
        fresh = []
        for row in self.rows:
            identity = self._identity(row)
            if identity not in waiting:
                waiting.add(identity)
                fresh.append(row)
        if fresh:
            await connection.execute(insert(_QUARANTINE), fresh)


async def settle(connection: AsyncConnection, keys: set[tuple[str, str]], now: dt.datetime) -> None:
    """Waiting copies of visits (facility, MA_LK) now taken in are settled."""
    by_facility: dict[str, list[str]] = {}
    for facility, visit_key in keys:
        by_facility.setdefault(facility, []).append(visit_key)
    q = _QUARANTINE.c
    for facility, visit_keys in by_facility.items():
        await connection.execute(
            update(_QUARANTINE)
            .where(q.facility_code == facility, q.visit_key.in_(visit_keys), q.resolved_at.is_(None))
            .values(resolved_at=now))


async def list_quarantined(db: Database, *, settled: bool = False,
                           limit: int = 200) -> Sequence[Row[Any]]:
    """The quarantine for operators, oldest first: where each came from and why (no payload)."""
    q = _QUARANTINE.c
    statement = select(q.id, q.received_at, q.file_name, q.facility_code, q.visit_key, q.reason,
                       q.detail, q.resolved_at).order_by(q.id).limit(limit)
    if not settled:
        statement = statement.where(q.resolved_at.is_(None))
    async with db.connection() as connection:
        return (await connection.execute(statement)).all()


__all__ = ["QUARANTINE_LABELS", "QuarantineBatch", "list_quarantined", "message_from_json",
           "message_to_json", "settle"]
