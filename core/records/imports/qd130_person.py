"""What a clinic visit adds to the person's record beyond the visit itself.

The clinic's blood group, ethnicity and ward fill the record's gaps (the authority
rule in `provenance` keeps the registers' values); its phone number is kept as the
clinic's contact number, never as the number that verifies the person; and a
chronic diagnosis becomes a condition in the history (QĐ 831 part 2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from sqlalchemy import FromClause, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Bulk
from core.i18n import TIMEZONE
from core.records.citizen import Citizen, FieldChange
from core.records.history import Condition
from core.records.provenance import Provenance, Source
from core.records.register import merge_fields
from core.records.submission import VisitSubmission
from core.reference import icd10
from core.values import PartialDate

# What XML1 says about the patient that the record keeps; the clinic's value fills
# an empty field and never overrules the registers (the authority rule in provenance).
# XML1 DIEN_THOAI goes to `clinic_phone`: a contact, often a relative's (provenance.may_supply).
CLINIC_FIELDS = ("blood_group", "clinic_phone", "ethnicity_code", "ward_code")
_SUBMITTED = {"clinic_phone": "phone"}  # the record's field -> the submission's (XML1 DIEN_THOAI)

_CITIZENS = Citizen.__table__
_CONDITIONS = Condition.__table__
_PROVENANCE = Provenance.__table__


class TakenVisit(Protocol):
    """A visit being written: whose it is and the provenance row it carries."""

    submission: VisitSubmission
    citizen_id: int
    provenance_id: int


def _with_holders() -> FromClause:
    """The citizens, each clinic field joined to the provenance of the value it holds."""
    joined: FromClause = _CITIZENS
    for name, holder in _HOLDERS.items():
        joined = joined.outerjoin(holder, holder.c.id == _CITIZENS.c[f"{name}_prov"])
    return joined


# Each clinic field with the source of the value it holds now: one query, not two.
_HOLDERS = {name: _PROVENANCE.alias(f"{name}_holder") for name in CLINIC_FIELDS}
_STATE_KEYS = ("id", *CLINIC_FIELDS, *(f"{name}_prov" for name in CLINIC_FIELDS))
_CLINIC_STATE = (
    select(*(_CITIZENS.c[key] for key in _STATE_KEYS),
           *(holder.c.source.label(f"{name}_source") for name, holder in _HOLDERS.items()))
    .select_from(_with_holders())
    .where(_CITIZENS.c.id.in_(bindparam("citizen_ids", expanding=True)))
)
_HISTORY_COLUMNS = ("citizen_id", "field", "old_value", "old_provenance_id", "new_value",
                    "new_provenance_id", "changed_at")
_INSERT_HISTORY = Bulk.insert(FieldChange.__table__, _HISTORY_COLUMNS)


@cache  # one statement per set of fields changed together: at most 2**4 of them
def _update_citizens(columns: tuple[str, ...]) -> Bulk:
    return Bulk(
        update(_CITIZENS).where(_CITIZENS.c.id == bindparam("citizen_id"))
        .values({name: bindparam(name) for name in columns}),
        {"citizen_id": _CITIZENS.c.id.type, **{name: _CITIZENS.c[name].type for name in columns}},
    )


async def merge_demographics(connection: AsyncConnection, writes: Sequence[TakenVisit],
                             now: dt.datetime) -> None:
    """The clinic's blood group, ethnicity and ward where the record has none; its contact number."""
    citizens: dict[int, dict[str, Any]] = {}
    sources: dict[int, Source] = {}
    for row in await connection.execute(
            _CLINIC_STATE, {"citizen_ids": sorted({w.citizen_id for w in writes})}):
        values = row._mapping
        citizens[row.id] = {key: values[key] for key in _STATE_KEYS}
        for name in CLINIC_FIELDS:
            if values[f"{name}_prov"] is not None:
                sources[values[f"{name}_prov"]] = values[f"{name}_source"]
    changes: dict[int, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    for w in writes:  # in file order: a later visit sees what an earlier one filled
        current = citizens[w.citizen_id]
        incoming = {name: getattr(w.submission, _SUBMITTED.get(name, name)) for name in CLINIC_FIELDS}
        merge = merge_fields(current, incoming, Source.CLINIC, w.provenance_id, sources, now,
                             citizen_id=w.citizen_id)
        if merge.changed:
            sources[w.provenance_id] = Source.CLINIC
            current.update(merge.updates)
            changes.setdefault(w.citizen_id, {}).update(merge.updates)
            history.extend(merge.history)
    # Only the fields that changed are written, grouped by which ones they are.
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for citizen_id, values in changes.items():
        columns = (*sorted(values), "updated_at")
        updates.setdefault(columns, []).append(
            {"citizen_id": citizen_id, **values, "updated_at": now})
    for columns, rows in updates.items():
        await _update_citizens(columns).run(connection, rows)
    await _INSERT_HISTORY.run(connection, history)


def _chronic_codes(s: VisitSubmission) -> list[str]:
    codes = [s.primary_icd10, *s.secondary_icd10]
    return list(dict.fromkeys(c for c in codes if c and icd10.is_chronic(c)))


@dataclass
class _Derived:
    """A condition the clinic intake added: stored (`row_id`) or added by this chunk (`row`)."""

    since: PartialDate | None
    row_id: int | None = None
    row: dict[str, Any] | None = None


_C = _CONDITIONS.c
_DERIVED = (
    select(_C.id, _C.citizen_id, _C.icd10_code, _C.since, _PROVENANCE.c.source)
    .join(_PROVENANCE, _PROVENANCE.c.id == _C.provenance_id)
    .where(_C.citizen_id.in_(bindparam("citizen_ids", expanding=True)),
           _C.icd10_code.in_(bindparam("codes", expanding=True)))
)
_CONDITION_COLUMNS = ("citizen_id", "icd10_code", "name", "since", "chronic", "provenance_id",
                      "recorded_at")
_INSERT_CONDITIONS = Bulk.insert(_CONDITIONS, _CONDITION_COLUMNS)
_REDATE_CONDITIONS = Bulk(
    update(_CONDITIONS).where(_C.id == bindparam("condition_id"))
    .values(since=bindparam("since"), provenance_id=bindparam("provenance_id")),
    {"condition_id": _C.id.type, "since": _C.since.type, "provenance_id": _C.provenance_id.type},
)


async def _derived_conditions(connection: AsyncConnection, wanted: list[tuple[TakenVisit, str]],
                              ) -> dict[tuple[int, str], _Derived | None]:
    """The conditions already on record for these residents and codes; None where another
    source (a health station) recorded it: that record stands as written."""
    found: dict[tuple[int, str], _Derived | None] = {}
    for row in await connection.execute(_DERIVED, {
            "citizen_ids": sorted({w.citizen_id for w, _ in wanted}),
            "codes": sorted({code for _, code in wanted})}):
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
            earlier.append({"condition_id": derived.row_id, "since": day,
                            "provenance_id": w.provenance_id})
    await _INSERT_CONDITIONS.run(connection, new_rows)
    await _REDATE_CONDITIONS.run(connection, earlier)


__all__ = ["CLINIC_FIELDS", "TakenVisit", "add_conditions", "merge_demographics"]
