"""Correction requests for official details: filed by the citizen, decided at the health station.

An approved correction is applied through `register.merge_fields` with health-station
provenance (a correction stands with the registers); the old value stays in the
field history. The citizen is told of every decision (`core.notices`).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from core import notices, validation
from core.corrections.model import CorrectionRequest, RequestStatus
from core.db import Database
from core.i18n import N_, Translator, now_utc
from core.records.citizen import Citizen, FieldChange
from core.records.display_value import restore, shown, shown_stored
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.records.register import merge_fields, serialize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Correctable:
    label: str
    parse: Callable[[str], Any]  # what the citizen typed


# The official details (QĐ 4026/QĐ-BYT administrative group) a citizen may ask to correct.
CORRECTABLE: dict[str, Correctable] = {
    "full_name": Correctable(N_("Full name"), validation.full_name),
    "birth_date": Correctable(N_("Date of birth"), validation.partial_date),
    "sex": Correctable(N_("Sex"), validation.sex),
    "personal_id": Correctable(N_("Personal ID number"), validation.personal_id),
    "insurance_card": Correctable(N_("Health insurance card"), validation.insurance_card),
}
# Both the citizen's reason and the station's fit in the request's column.
REASON_LENGTH = 500
_REQUESTS = CorrectionRequest.__table__
_CITIZENS = Citizen.__table__
_CARDS = InsuranceCard.__table__
_PROVENANCE = Provenance.__table__


@dataclass(frozen=True)
class Request:
    id: int
    citizen_id: int
    field: str
    proposed_value: str
    reason: str
    ward_code: str | None
    status: RequestStatus
    created_at: dt.datetime
    decision_reason: str | None
    current_value: str | None = None  # what the record holds now, stored form (`stored_current`)


def proposed_value(field: str, stored: str) -> Any:
    """A request's proposed value read back from its stored form (`1960-02-01`, `1`), not re-parsed
    as typing: the stored form of a date is ISO, which a person never types."""
    if field == "insurance_card":
        return validation.insurance_card(stored)
    return restore(field, stored)


def proposed_shown(field: str, stored: str, t: Translator) -> str:
    """The proposed value as the book would show it (`01/02/1960`, `Nam`)."""
    return stored if field == "insurance_card" else shown_stored(field, stored, t)


def _current(connection: Connection, citizen_id: int, field: str) -> Any:
    if field == "insurance_card":
        return connection.execute(select(_CARDS.c.number).where(
            _CARDS.c.citizen_id == citizen_id, _CARDS.c.superseded_at.is_(None))
            .order_by(_CARDS.c.id.desc()).limit(1)).scalar()
    return connection.execute(select(_CITIZENS.c[field]).where(_CITIZENS.c.id == citizen_id)).scalar()


async def current_value(db: Database, citizen_id: int, field: str) -> Any:
    """What the record holds now for a correctable detail (None when nothing), to show beside
    the question: the citizen corrects what they can see."""
    if field not in CORRECTABLE:
        raise ValueError(f"not a correctable detail: {field}")
    return await db.read(_current, citizen_id, field)


def current_shown(field: str, value: Any, t: Translator) -> str:
    return value if field == "insurance_card" else shown(field, value, t)


def _stored(field: str, value: Any) -> str | None:
    """A current value in the form a request stores its proposal (`proposed_text`)."""
    if value is None:
        return None
    return value if field == "insurance_card" else serialize(value)


class Refusal(enum.StrEnum):
    SAME_AS_RECORD = "same_as_record"  # nothing to correct
    ALREADY_WAITING = "already_waiting"  # one request per detail at a time


@dataclass(frozen=True)
class Refused:
    why: Refusal
    since: dt.datetime | None = None  # when the waiting request was filed


def _waiting_since(connection: Connection, citizen_id: int, field: str) -> dt.datetime | None:
    return connection.execute(select(_REQUESTS.c.created_at).where(
        _REQUESTS.c.citizen_id == citizen_id, _REQUESTS.c.field == field,
        _REQUESTS.c.status == RequestStatus.PENDING).order_by(_REQUESTS.c.id).limit(1)).scalar()


def _refusal(connection: Connection, citizen_id: int, field: str, value: str | None) -> Refused | None:
    """Why this request would not be filed: one already waits for the detail, or the value
    (stored form; None: not chosen yet) is what the record already holds."""
    since = _waiting_since(connection, citizen_id, field)
    if since is not None:
        return Refused(Refusal.ALREADY_WAITING, since)
    if value is not None and _stored(field, _current(connection, citizen_id, field)) == value:
        return Refused(Refusal.SAME_AS_RECORD)
    return None


async def refusal(db: Database, citizen_id: int, field: str, value: str | None = None) -> Refused | None:
    """Asked before the citizen goes on (after choosing the detail, after typing the value), so
    nothing is typed in vain; `file_request` asks again as it files."""
    return await db.read(_refusal, citizen_id, field, value)


def proposed_text(field: str, typed: str) -> str:
    """The proposed value, validated and in its stored form; raises InvalidValue."""
    value = CORRECTABLE[field].parse(typed)
    if isinstance(value, validation.CardNumber):
        return value.number
    return serialize(value) or ""


def _file(connection: Connection, citizen_id: int, field: str, value: str, reason: str,
          channel: str) -> int | Refused:
    refused = _refusal(connection, citizen_id, field, value)
    if refused is not None:
        return refused
    ward = connection.execute(select(_CITIZENS.c.ward_code).where(_CITIZENS.c.id == citizen_id)).scalar()
    return connection.execute(insert(_REQUESTS).values(
        citizen_id=citizen_id, field=field, proposed_value=value, reason=reason, ward_code=ward,
        channel=channel, status=RequestStatus.PENDING, created_at=now_utc())
        .returning(_REQUESTS.c.id)).scalar_one()


async def file_request(db: Database, citizen_id: int, field: str, value: str, reason: str, *,
                       channel: str) -> int | Refused:
    """Files a request; the value as `proposed_text` gave it, the reason as typed (cleaned
    here whatever the channel: no invisible or control characters are stored). Refused, with
    nothing filed, when the record already holds the value or a request for the detail waits."""
    reason = validation.free_text(reason, REASON_LENGTH)
    filed = await db.write(_file, citizen_id, field, value, reason, channel)
    if isinstance(filed, Refused):
        log.info("correction request refused (citizen %s, %s): %s", citizen_id, field, filed.why.value)
    else:
        log.info("correction request %s filed (citizen %s, %s)", filed, citizen_id, field)
    return filed


def _list(connection: Connection, ward_code: str | None, status: RequestStatus | None) -> list[Request]:
    query = select(_REQUESTS).order_by(_REQUESTS.c.id)
    if ward_code is not None:
        query = query.where(_REQUESTS.c.ward_code == ward_code)
    if status is not None:
        query = query.where(_REQUESTS.c.status == status)
    return [Request(r.id, r.citizen_id, r.field, r.proposed_value, r.reason, r.ward_code, r.status,
                    r.created_at, r.decision_reason,
                    _stored(r.field, _current(connection, r.citizen_id, r.field)))
            for r in connection.execute(query).all()]


async def list_requests(db: Database, ward_code: str | None = None,
                        status: RequestStatus | None = RequestStatus.PENDING) -> list[Request]:
    return await db.read(_list, ward_code, status)


class Decided(enum.StrEnum):
    DONE = "done"
    NO_SUCH_REQUEST = "no_such_request"
    NOT_PENDING = "not_pending"  # decided before


def _apply(connection: Connection, request: Any, now: dt.datetime) -> None:
    provenance_id = connection.execute(insert(_PROVENANCE).values(
        source=Source.HEALTH_STATION, reference=f"correction request {request.id}", received_at=now,
        verified=True).returning(_PROVENANCE.c.id)).scalar_one()
    if request.field == "insurance_card":
        # A corrected card is a new card period; the old one is kept, superseded.
        card = proposed_value(request.field, request.proposed_value)
        current = connection.execute(select(_CARDS).where(
            _CARDS.c.citizen_id == request.citizen_id, _CARDS.c.superseded_at.is_(None))
            .order_by(_CARDS.c.id.desc()).limit(1)).one_or_none()
        connection.execute(update(_CARDS).where(_CARDS.c.citizen_id == request.citizen_id,
                                                _CARDS.c.superseded_at.is_(None)).values(superseded_at=now))
        connection.execute(insert(_CARDS).values(
            citizen_id=request.citizen_id, number=card.number,
            social_insurance_number=card.social_insurance_number, beneficiary_group=card.beneficiary_group,
            benefit_level=card.benefit_level, valid_from=current.valid_from if current else None,
            valid_to=current.valid_to if current else None,
            registered_facility_code=current.registered_facility_code if current else None,
            provenance_id=provenance_id, created_at=now))
        return
    row = connection.execute(select(_CITIZENS).where(_CITIZENS.c.id == request.citizen_id)).one()
    value = proposed_value(request.field, request.proposed_value)
    old_prov = getattr(row, f"{request.field}_prov")
    sources = {}
    if old_prov is not None:
        sources[old_prov] = connection.execute(
            select(_PROVENANCE.c.source).where(_PROVENANCE.c.id == old_prov)).scalar_one()
    merge = merge_fields(row, {request.field: value}, Source.HEALTH_STATION, provenance_id, sources, now,
                         citizen_id=request.citizen_id)
    if merge.changed:
        connection.execute(update(_CITIZENS).where(_CITIZENS.c.id == request.citizen_id)
                           .values(**merge.updates, updated_at=now))
        if merge.history:
            connection.execute(insert(FieldChange.__table__), merge.history)


def _decide(connection: Connection, request_id: int, approve: bool, reason: str | None) -> Decided:
    request = connection.execute(select(_REQUESTS).where(_REQUESTS.c.id == request_id)).one_or_none()
    if request is None:
        return Decided.NO_SUCH_REQUEST
    if request.status is not RequestStatus.PENDING:
        return Decided.NOT_PENDING
    now = now_utc()
    if approve:
        _apply(connection, request, now)
    status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    connection.execute(update(_REQUESTS).where(_REQUESTS.c.id == request_id).values(
        status=status, decided_at=now, decision_reason=reason))
    notices.enqueue(connection, request.citizen_id, f"correction_{status.value}", field=request.field,
                    value=request.proposed_value, reason=reason or "")
    return Decided.DONE


async def approve(db: Database, request_id: int) -> Decided:
    """Applies the correction with health-station provenance, if it waits for a decision."""
    done = await db.write(_decide, request_id, True, None)
    log.info("correction request %s approve: %s", request_id, done.value)
    return done


async def reject(db: Database, request_id: int, reason: str) -> Decided:
    """Refuses the request with the station's reason, which the citizen reads."""
    done = await db.write(_decide, request_id, False, validation.free_text(reason, REASON_LENGTH))
    log.info("correction request %s reject: %s", request_id, done.value)
    return done
