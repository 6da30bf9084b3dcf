"""Who a citizen is, for the floors above that prove identity or serve a ward.

Identity, PINs, lockout reports and volunteers' lookups ask the record these few
questions instead of reading the citizens table: the record keeps its storage to
itself, and nothing here ever carries health data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, ScalarSelect, bindparam, select

from core.records.citizen import Citizen
from core.values import CitizenStatus, PartialDate

_CITIZENS = Citizen.__table__


@dataclass(frozen=True)
class Person:
    """The facts identity checks and a ward team needs to know whom they serve."""

    id: int
    personal_id: str
    full_name: str
    birth_date: PartialDate
    phone: str | None  # the verifying phone only: a clinic's contact number never verifies anyone
    ward_code: str | None
    status: CitizenStatus


_PERSON = select(_CITIZENS.c.id, _CITIZENS.c.personal_id, _CITIZENS.c.full_name, _CITIZENS.c.birth_date,
                 _CITIZENS.c.phone, _CITIZENS.c.ward_code, _CITIZENS.c.status)
_BY_PERSONAL_ID = _PERSON.where(_CITIZENS.c.personal_id == bindparam("personal_id"))
_BY_ID = _PERSON.where(_CITIZENS.c.id == bindparam("citizen_id"))


def _person(row: object) -> Person:
    return Person(*row)  # type: ignore[misc]  # a row of _PERSON, in the dataclass's order


def by_personal_id(connection: Connection, personal_id: str) -> Person | None:
    """The citizen whose record holds this 12-digit personal ID, if any."""
    row = connection.execute(_BY_PERSONAL_ID, {"personal_id": personal_id}).one_or_none()
    return _person(row) if row is not None else None


def by_id(connection: Connection, citizen_id: int) -> Person | None:
    row = connection.execute(_BY_ID, {"citizen_id": citizen_id}).one_or_none()
    return _person(row) if row is not None else None


def by_ids(connection: Connection, citizen_ids: Iterable[int], *,
           ward_code: str | None = None) -> dict[int, Person]:
    """The citizens among these ids (only those of one ward, when given), by id."""
    query = _PERSON.where(_CITIZENS.c.id.in_(list(citizen_ids)))
    if ward_code is not None:
        query = query.where(_CITIZENS.c.ward_code == ward_code)
    return {row.id: _person(row) for row in connection.execute(query)}


def status_of(citizen_id: ColumnElement[int | None]) -> ScalarSelect[CitizenStatus]:
    """The status of the citizen whose id is in another table's column, as a column of that query
    (one round trip where the status comes with every load of a channel account)."""
    return select(_CITIZENS.c.status).where(_CITIZENS.c.id == citizen_id).scalar_subquery()
