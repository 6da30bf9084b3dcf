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

from sqlalchemy import Row, and_, bindparam, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Database
from core.i18n import N_, Message
from core.records.operations import QuarantinedSubmission, QuarantineReason

QUARANTINE_LABELS = {
    QuarantineReason.NO_MATCHING_CITIZEN: N_("No matching resident"),
    QuarantineReason.PERSON_MISMATCH: N_("Person does not match the record"),
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
    """The quarantine rows of one file in one transaction; an identical waiting row is not
    stored twice (importing the same file again changes nothing)."""

    def __init__(self, file_name: str, run_id: int | None, now: dt.datetime) -> None:
        self.file_name = file_name[:255]
        self.run_id = run_id  # may be set later in the transaction, when the run is new
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def add(self, facility_code: str | None, visit_key: str | None, payload: bytes,
            reason: QuarantineReason, detail: Message) -> None:
        self.rows.append({
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


def _identity(row: Any) -> tuple[Any, ...]:
    return (row["facility_code"], row["visit_key"], QuarantineReason(row["reason"]),
            hashlib.sha256(row["payload"]).hexdigest())


_Q = _QUARANTINE.c
_WAITING = select(_Q.file_name, _Q.facility_code, _Q.visit_key, _Q.reason, _Q.payload).where(
    _Q.resolved_at.is_(None),
    or_(_Q.visit_key.in_(bindparam("visit_keys", expanding=True)),
        and_(_Q.visit_key.is_(None), _Q.file_name.in_(bindparam("file_names", expanding=True)))),
)
_INSERT = insert(_QUARANTINE)
_SETTLE = update(_QUARANTINE).where(
    _Q.resolved_at.is_(None),
    tuple_(_Q.facility_code, _Q.visit_key).in_(bindparam("keys", expanding=True)),
).values(resolved_at=bindparam("resolved_at", type_=_Q.resolved_at.type))


async def store_quarantine(connection: AsyncConnection, batches: Sequence[QuarantineBatch]) -> None:
    """The batches of several files, in file order, each as if stored alone after the ones
    before it: a row identical to one already waiting (that its file would see) is skipped."""
    batches = [batch for batch in batches if batch.rows]
    if not batches:
        return
    stored = [row._mapping for row in await connection.execute(_WAITING, {
        "visit_keys": sorted({r["visit_key"] for b in batches for r in b.rows if r["visit_key"]}),
        "file_names": sorted({b.file_name for b in batches}),
    })]
    fresh: list[dict[str, Any]] = []
    for batch in batches:
        keys = {row["visit_key"] for row in batch.rows if row["visit_key"]}

        def seen_by_batch(row: Any, keys: set[str] = keys, batch: QuarantineBatch = batch) -> bool:
            return (row["visit_key"] in keys if row["visit_key"] is not None
                    else row["file_name"] == batch.file_name)

        waiting = {_identity(row) for row in stored if seen_by_batch(row)}
        waiting.update(_identity(row) for row in fresh
                       if row["resolved_at"] is None and seen_by_batch(row))
        for row in batch.rows:
            identity = _identity(row)
            if identity not in waiting:
                waiting.add(identity)
                fresh.append({**row, "import_run_id": batch.run_id})
    if fresh:
        await connection.execute(_INSERT, fresh)


async def settle(connection: AsyncConnection, keys: set[tuple[str, str]], now: dt.datetime) -> None:
    """Waiting copies of visits (facility, MA_LK) now taken in are settled."""
    if keys:
        await connection.execute(_SETTLE, {"keys": sorted(keys), "resolved_at": now})


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
           "message_to_json", "settle", "store_quarantine"]
