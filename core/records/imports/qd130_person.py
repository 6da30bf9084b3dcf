"""What a clinic visit adds to the person's record beyond the visit itself.

The clinic's blood group, phone, ethnicity and ward fill the record's gaps (the
authority rule in `provenance` keeps the registers' values), and a chronic
diagnosis becomes a condition in the history (QĐ 831 part 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.i18n import TIMEZONE
from core.records.citizen import Citizen, FieldChange
from core.records.history import Condition
from core.records.provenance import Provenance, Source
from core.records.register import merge_fields
from core.records.submission import VisitSubmission
from core.records.values import PartialDate
from core.reference import icd10

# What XML1 says about the patient that the record keeps; the clinic's value fills
# an empty field and never overrules the registers (the authority rule in provenance).
CLINIC_FIELDS = ("blood_group", "phone", "ethnicity_code", "ward_code")

_CITIZENS = Citizen.__table__
_CONDITIONS = Condition.__table__
_PROVENANCE = Provenance.__table__


class TakenVisit(Protocol):
    """A visit being written: whose it is and the provenance row it carries."""

    submission: VisitSubmission
    citizen_id: int
    provenance_id: int


async def merge_demographics(connection: AsyncConnection, writes: Sequence[TakenVisit],
                             now: dt.datetime) -> None:
    """The clinic's blood group, phone, ethnicity and ward, where the record has none."""
    citizens = {row.id: dict(row._mapping) for row in await connection.execute(
        select(_CITIZENS).where(_CITIZENS.c.id.in_({w.citizen_id for w in writes})))}
    prov_ids = {row[f"{name}_prov"] for row in citizens.values() for name in CLINIC_FIELDS} - {None}
    sources: dict[int, Source] = {}
    if prov_ids:
        sources = dict((await connection.execute(
            select(_PROVENANCE.c.id, _PROVENANCE.c.source)
            .where(_PROVENANCE.c.id.in_(prov_ids)))).all())
    changes: dict[int, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    for w in writes:  # in file order: a later visit sees what an earlier one filled
        current = citizens[w.citizen_id]
        incoming = {name: getattr(w.submission, name) for name in CLINIC_FIELDS}
        merge = merge_fields(current, incoming, Source.CLINIC, w.provenance_id, sources, now,
                             citizen_id=w.citizen_id)
        if merge.changed:
            sources[w.provenance_id] = Source.CLINIC
            current.update(merge.updates)
            changes.setdefault(w.citizen_id, {}).update(merge.updates)
            history.extend(merge.history)
    for citizen_id, values in changes.items():
        await connection.execute(update(_CITIZENS).where(_CITIZENS.c.id == citizen_id)
                                 .values(**values, updated_at=now))
    if history:
        await connection.execute(insert(FieldChange.__table__), history)


def _chronic_codes(s: VisitSubmission) -> list[str]:
    codes = [s.primary_icd10, *s.secondary_icd10]
    return list(dict.fromkeys(c for c in codes if c and icd10.is_chronic(c)))


@dataclass
class _Derived:
    """A condition the clinic intake added: stored (`row_id`) or added by this chunk (`row`)."""

    since: PartialDate | None
    row_id: int | None = None
    row: dict[str, Any] | None = None


async def _derived_conditions(connection: AsyncConnection, wanted: list[tuple[TakenVisit, str]],
                              ) -> dict[tuple[int, str], _Derived | None]:
    """The conditions already on record for these residents and codes; None where another
    source (a health station) recorded it: that record stands as written."""
    c = _CONDITIONS.c
    found: dict[tuple[int, str], _Derived | None] = {}
    for row in await connection.execute(
        select(c.id, c.citizen_id, c.icd10_code, c.since, _PROVENANCE.c.source)
        .join(_PROVENANCE, _PROVENANCE.c.id == c.provenance_id)
        .where(c.citizen_id.in_({w.citizen_id for w, _ in wanted}),
               c.icd10_code.in_({code for _, code in wanted}))
    ):
        key = (row.citizen_id, row.icd10_code)
        if row.source is not Source.CLINIC or found.get(key, _Derived(None)) is None:
            found[key] = None
        else:
            found[key] = _Derived(row.since, row_id=row.id)
    return found


async def add_conditions(connection: AsyncConnection, writes: Sequence[TakenVisit],
                         now: dt.datetime) -> None:
    """A chronic diagnosis becomes a condition in the history (QĐ 831 part 2), once per code,
    dated by the earliest visit that carries it, whatever order the visits arrive in."""
    wanted = [(w, code) for w in writes for code in _chronic_codes(w.submission)]
    if not wanted:
        return
    known = await _derived_conditions(connection, wanted)
    new_rows: list[dict[str, Any]] = []
    earlier: list[dict[str, Any]] = []
    name_room = _CONDITIONS.c.name.type.length
    for w, code in wanted:
        key = (w.citizen_id, code)
        day = PartialDate.of(w.submission.admitted_at.astimezone(TIMEZONE).date())
        if key not in known:
            row = {"citizen_id": w.citizen_id, "icd10_code": code,
                   "name": (icd10.name_of(code) or w.submission.diagnosis or code)[:name_room],
                   "since": day, "chronic": True, "provenance_id": w.provenance_id,
                   "recorded_at": now}
            new_rows.append(row)
            known[key] = _Derived(day, row=row)
            continue
        derived = known[key]
        if derived is None or (derived.since is not None
                               and derived.since.earliest() <= day.earliest()):
            continue
        derived.since = day  # an older visit came later: the condition dates from it
        if derived.row is not None:
            derived.row.update(since=day, provenance_id=w.provenance_id)
        else:
            earlier.append({"_id": derived.row_id, "since": day, "provenance_id": w.provenance_id})
    if new_rows:
        await connection.execute(insert(_CONDITIONS), new_rows)
    if earlier:
        await connection.execute(
            update(_CONDITIONS).where(_CONDITIONS.c.id == bindparam("_id")), earlier)


__all__ = ["CLINIC_FIELDS", "TakenVisit", "add_conditions", "merge_demographics"]
