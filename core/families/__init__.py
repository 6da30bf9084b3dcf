"""Families: whose books an account may open besides its own, and the grants behind it.

The rule itself is `core.families.rules` (pure, with its legal reading); this module loads the
facts it needs from the record and the grants, and records grants, withdrawals and handovers.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, exists, insert, or_, select, update

from core import notices
from core.consent.access import note_action, read_book_as
from core.consent.policy import Reader
from core.db import Database, insert_if_absent
from core.families.model import BookHandover, ProxyGrantRow
from core.families.rules import (
    ADULT_AGE,
    PROXY_POWERS,
    TAKE_OVER_AGE,
    Capacity,
    Person,
    Power,
    ProxyGrant,
    Right,
    guardian_right,
    right_over,
)
from core.i18n import now_utc
from core.marks import DatabaseMark
from core.records.citizen import Citizen
from core.records.display_rules import BookGroup
from core.records.healthbook import HealthBook
from core.records.provenance import Provenance
from core.values import PartialDate

_CITIZENS = Citizen.__table__
_PROV = Provenance.__table__
_GRANTS = ProxyGrantRow.__table__
_HANDOVERS = BookHandover.__table__
_MARKS = DatabaseMark.__table__

_FACTS = (select(_CITIZENS.c.id, _CITIZENS.c.birth_date, _CITIZENS.c.status, _CITIZENS.c.guardian_id,
                 _PROV.c.source.label("guardian_source"), _HANDOVERS.c.taken_over_on,
                 _CITIZENS.c.full_name)
          .outerjoin(_PROV, _PROV.c.id == _CITIZENS.c.guardian_id_prov)
          .outerjoin(_HANDOVERS, _HANDOVERS.c.citizen_id == _CITIZENS.c.id))


@dataclass(frozen=True)
class Dependent:
    """A book an account may open besides its own: whose, and with what right."""

    citizen_id: int
    full_name: str
    age: int
    right: Right

    @property
    def short_name(self) -> str:
        # A Vietnamese name ends with the given name, the one a family calls the person by.
        return self.full_name.split()[-1] if self.full_name.split() else self.full_name


def may_act_for_someone(citizen_id: ColumnElement[int | None]) -> ColumnElement[bool]:
    """Whether the citizen whose id is in another table's column is named as anyone's guardian or
    holds a grant not withdrawn: a column of that query, so the account's own load tells whether
    its menu needs the household (one round trip, two index probes)."""
    return or_(exists().where(_CITIZENS.c.guardian_id == citizen_id),
               exists().where(_GRANTS.c.proxy_id == citizen_id, _GRANTS.c.withdrawn_at.is_(None)))


def _facts(connection: Connection, ids: Iterable[int]) -> dict[int, tuple[Person, str]]:
    rows = connection.execute(_FACTS.where(_CITIZENS.c.id.in_(list(set(ids)))))
    return {row.id: (Person(row.id, row.birth_date, row.status, row.guardian_id, row.guardian_source,
                            row.taken_over_on), row.full_name) for row in rows}


def _grant(row) -> ProxyGrant:  # a row of proxy_grants
    return ProxyGrant(row.id, row.grantor_id, row.proxy_id,
                      frozenset(Power(p) for p in row.powers.split(",") if p), row.granted_on,
                      row.expires_on, row.withdrawn_at.date() if row.withdrawn_at else None)


def _grants_held(connection: Connection, proxy_id: int, grantor_ids: Iterable[int] | None = None,
                 ) -> list[ProxyGrant]:
    query = select(_GRANTS).where(_GRANTS.c.proxy_id == proxy_id, _GRANTS.c.withdrawn_at.is_(None))
    if grantor_ids is not None:
        query = query.where(_GRANTS.c.grantor_id.in_(list(grantor_ids)))
    return [_grant(row) for row in connection.execute(query)]


def right_of(connection: Connection, actor_id: int, subject_id: int, today: dt.date) -> Right | None:
    """The right `actor_id` holds today over `subject_id`'s book (None: none)."""
    if actor_id == subject_id:
        return None
    facts = _facts(connection, (actor_id, subject_id))
    if actor_id not in facts or subject_id not in facts:
        return None
    actor, subject = facts[actor_id][0], facts[subject_id][0]
    held = guardian_right(actor, subject, today)
    grants = () if held else _grants_held(connection, actor_id, (subject_id,))
    return right_over(actor, subject, grants, today)


def dependents(connection: Connection, actor_id: int, today: dt.date) -> list[Dependent]:
    """Every book `actor_id` may open today besides their own, children first, youngest first."""
    children = connection.execute(select(_CITIZENS.c.id).where(_CITIZENS.c.guardian_id == actor_id)).scalars()
    grants = _grants_held(connection, actor_id)
    candidates = {*children, *(g.grantor_id for g in grants)}
    if not candidates:
        return []
    facts = _facts(connection, (actor_id, *candidates))
    if actor_id not in facts:
        return []
    actor = facts[actor_id][0]
    found = []
    for subject_id in candidates:
        subject, name = facts.get(subject_id, (None, ""))
        right = subject and right_over(actor, subject, grants, today)
        if subject is not None and right:
            found.append(Dependent(subject_id, name, subject.age_on(today), right))
    return sorted(found, key=lambda d: (d.right.capacity is not Capacity.GUARDIAN, d.age, d.citizen_id))


async def read_book_for(db: Database, actor_id: int, account_id: int, dependent: Dependent, *,
                        locale: str | None = None, only: Iterable[BookGroup] | None = None,
                        ) -> HealthBook | None:
    """The dependent's book, read by whoever acts for them: through the one access door, so the
    read is in the dependent's access history as their guardian's or proxy's."""
    name = await db.read(_name, actor_id)
    reader = Reader(account_id, dependent.right.capacity.value, name=name)
    found = await read_book_as(db, reader, dependent.citizen_id, via="family", locale=locale,
                               only=frozenset(only) if only is not None else None)
    return found.book


async def note_update(db: Database, actor_id: int, account_id: int, dependent: Dependent) -> None:
    """Details the guardian or proxy filled in for the dependent: in the dependent's access
    history, beside the reads (an adult sees every action of their proxy)."""
    reader = Reader(account_id, dependent.right.capacity.value, name=await db.read(_name, actor_id))
    await note_action(db, reader, dependent.citizen_id, frozenset({BookGroup.GENERAL}), "family_update")


def _name(connection: Connection, citizen_id: int) -> str | None:
    return connection.execute(select(_CITIZENS.c.full_name).where(_CITIZENS.c.id == citizen_id)).scalar()


@dataclass(frozen=True)
class GrantLine:
    """One grant an adult gave, for their list: who, what, until when."""

    grant_id: int
    proxy_name: str
    powers: frozenset[Power]
    granted_on: dt.date
    expires_on: dt.date | None


def proxies_of(connection: Connection, grantor_id: int, today: dt.date) -> list[GrantLine]:
    """The grants in force that `grantor_id` gave, oldest first."""
    rows = connection.execute(
        select(_GRANTS, _CITIZENS.c.full_name).join(_CITIZENS, _CITIZENS.c.id == _GRANTS.c.proxy_id)
        .where(_GRANTS.c.grantor_id == grantor_id, _GRANTS.c.withdrawn_at.is_(None),
               or_(_GRANTS.c.expires_on.is_(None), _GRANTS.c.expires_on >= today))
        .order_by(_GRANTS.c.id))
    return [GrantLine(row.id, row.full_name, _grant(row).powers, row.granted_on, row.expires_on)
            for row in rows]


class GrantRefused(Exception):
    """A grant the rule would never honour; the message says why, in the catalogue's words."""


def grant_proxy(connection: Connection, grantor_id: int, proxy_id: int, powers: Iterable[Power], *,
                today: dt.date, channel: str, expires_on: dt.date | None = None,
                confirmed_by: str | None = None, tell: bool = True) -> int:
    """Records that `proxy_id` may act for `grantor_id` with `powers`; the grant's id.

    Both must be active adults and the powers those a proxy may hold (never consent). The
    grantor is told through their accounts, the proxy through theirs.
    """
    chosen = frozenset(Power(p) for p in powers)
    if not chosen or not chosen <= frozenset(PROXY_POWERS):
        raise GrantRefused("powers")
    if grantor_id == proxy_id:
        raise GrantRefused("self")
    facts = _facts(connection, (grantor_id, proxy_id))
    for person_id in (grantor_id, proxy_id):
        if person_id not in facts:
            raise GrantRefused("person")
        person = facts[person_id][0]
        if person.status.value != "active" or person.age_on(today) < ADULT_AGE:
            raise GrantRefused("person")
    if expires_on is not None and expires_on < today:
        raise GrantRefused("expiry")
    grant_id = connection.execute(insert(_GRANTS).values(
        grantor_id=grantor_id, proxy_id=proxy_id,
        powers=",".join(sorted(p.value for p in chosen)), granted_on=today, expires_on=expires_on,
        channel=channel, confirmed_by=confirmed_by,
        created_at=now_utc()).returning(_GRANTS.c.id)).scalar_one()
    if not tell:  # the demo seed's household, as if recorded long ago: no news to deliver
        return grant_id
    names = {person_id: facts[person_id][1] for person_id in (grantor_id, proxy_id)}
    notices.enqueue(connection, grantor_id, "proxy_granted", proxy=names[proxy_id],
                    powers=sorted(p.value for p in chosen))
    notices.enqueue(connection, proxy_id, "proxy_received", grantor=names[grantor_id],
                    powers=sorted(p.value for p in chosen))
    return grant_id


def withdraw(connection: Connection, grant_id: int, grantor_id: int) -> bool:
    """Withdraws one of `grantor_id`'s grants at once; False when it was not theirs or not in force."""
    row = connection.execute(
        update(_GRANTS).where(_GRANTS.c.id == grant_id, _GRANTS.c.grantor_id == grantor_id,
                              _GRANTS.c.withdrawn_at.is_(None))
        .values(withdrawn_at=now_utc()).returning(_GRANTS.c.proxy_id)).one_or_none()
    if row is None:
        return False
    name = connection.execute(select(_CITIZENS.c.full_name).where(_CITIZENS.c.id == grantor_id)).scalar_one()
    notices.enqueue(connection, row.proxy_id, "proxy_withdrawn", grantor=name)
    return True


def end_grants_of(connection: Connection, citizen_ids: Sequence[int]) -> int:
    """Every grant in force that these citizens gave or received ends now (deaths:
    core.volunteering.deaths); how many. Nobody is told here: "withdrew" would not be true, and the family
    learns of a death from the family, not from the bot. The rule already refuses a dead person
    either side (rules.proxy_right); this keeps the grant list true as well."""
    return connection.execute(update(_GRANTS).where(
        or_(_GRANTS.c.grantor_id.in_(citizen_ids), _GRANTS.c.proxy_id.in_(citizen_ids)),
        _GRANTS.c.withdrawn_at.is_(None)).values(withdrawn_at=now_utc())).rowcount


# Guardian and teenager are told this many days before the 18th birthday ends the guardian's right.
TOLD_BEFORE = dt.timedelta(days=30)


def _born_on_candidates(day: dt.date) -> list[str]:
    """How the record stores a birth date whose 18th birthday, counted as the rule counts it (the
    earliest day a partial date allows), falls on `day`."""
    try:
        born = day.replace(year=day.year - ADULT_AGE)
    except ValueError:  # 29 February: the birthday is kept on 1 March in a common year
        return []
    found = [born.isoformat()]
    if day.day == 1:
        found.append(f"{born.year:04d}-{born.month:02d}")
        if day.month == 1:
            found.append(f"{born.year:04d}")
    if day.month == 3 and day.day == 1 and not calendar.isleap(day.year) \
            and calendar.isleap(day.year - ADULT_AGE):
        found.append(f"{day.year - ADULT_AGE:04d}-02-29")
    return found


def tell_rights_ending(connection: Connection, today: dt.date) -> int:
    """Once a day, whoever runs it first (each worker's outbox calls it): tells each guardian whose
    child turns 18 in TOLD_BEFORE, and the child, that the right ends that day. The count told."""
    if not insert_if_absent(connection, _MARKS, {"name": f"families_told_{today.isoformat()}",
                                                 "value": None, "created_at": now_utc()}, ("name",)):
        return 0  # another worker did today's
    day = today + TOLD_BEFORE
    born = [PartialDate.from_iso(text) for text in _born_on_candidates(day)]
    rows = connection.execute(select(_CITIZENS.c.id).where(
        _CITIZENS.c.guardian_id.is_not(None), _CITIZENS.c.birth_date.in_(born)))
    ids = [row.id for row in rows]
    facts = _facts(connection, ids)
    told = 0
    for child_id in ids:
        child, name = facts[child_id]
        assert child.guardian_id is not None
        guardian = _facts(connection, (child.guardian_id,)).get(child.guardian_id)
        if guardian is None or guardian_right(guardian[0], child, today) is None:
            continue
        notices.enqueue(connection, child.guardian_id, "guardian_right_ends", name=name, on=day.isoformat())
        notices.enqueue(connection, child_id, "own_book_soon", on=day.isoformat())
        told += 1
    return told


def take_over(connection: Connection, citizen_id: int, today: dt.date, channel: str) -> bool:
    """A teenager of 16 or more who verified with their own phone takes their book over from
    their guardian, who is told; True when a guardian's right ended here."""
    facts = _facts(connection, (citizen_id,))
    if citizen_id not in facts:
        return False
    teen, name = facts[citizen_id]
    if teen.guardian_id is None or teen.taken_over_on is not None or teen.age_on(today) < TAKE_OVER_AGE:
        return False
    guardian = _facts(connection, (teen.guardian_id,)).get(teen.guardian_id)
    if guardian is None or guardian_right(guardian[0], teen, today) is None:
        return False
    connection.execute(insert(_HANDOVERS).values(citizen_id=citizen_id, taken_over_on=today, channel=channel))
    notices.enqueue(connection, teen.guardian_id, "book_taken_over", name=name)
    return True


__all__ = ["Capacity", "Dependent", "GrantLine", "GrantRefused", "Power", "Right", "dependents",
           "end_grants_of", "grant_proxy", "may_act_for_someone", "note_update",
           "proxies_of", "read_book_for", "right_of", "take_over", "tell_rights_ending", "withdraw"]
