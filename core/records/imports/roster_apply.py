"""Writing roster entries: new residents, changed fields with their history, card periods
and guardian links, a chunk at a time on one connection held for the whole file.

Split from `roster` (reading and checking the file): this half talks to the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import SQLITE_MMAP_BYTES, Bulk, Database, begin, one_of
from core.i18n import N_, Message, now_utc
from core.records.base import BigIntPK
from core.records.citizen import DEMOGRAPHIC_FIELDS, Citizen, FieldChange
from core.records.imports.chunks import few_collections, write_in_chunks
from core.records.imports.report import ImportReport
from core.records.imports.roster_entry import REGISTER_FIELDS, CardEntry, RosterEntry
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.records.register import merge_fields
from core.values import CitizenStatus

# Rows per transaction. At a million residents each commit writes every index page
# the chunk touched; big chunks share pages (10,000 personal IDs of a chunk fall on
# far fewer pages per row than 2,000 do).
CHUNK = 10000


@dataclass(frozen=True)
class RosterSources:
    """The provenance rows of one import: demographics and insurance."""

    population: int
    insurance: int


_CITIZENS = Citizen.__table__
_CARDS = InsuranceCard.__table__
# New citizens are written with their ids, reserved first (`_reserve_ids`), so a chunk writes
# their cards and the guardian links it can resolve in the same pass, by id.
# Only the columns a register can fill: each left-out one (a clinic's phone, the emergency
# contact, the gap count) is NULL anyway, and binds nothing (a tenth of SQLite's insert).
_FILLED = (*REGISTER_FIELDS, "guardian_id")
_NEW_CITIZEN_COLUMNS = ("id", *_FILLED, *(f"{name}_prov" for name in _FILLED), "status_date",
                        "created_at", "updated_at")
_INSERT_CITIZENS = Bulk.insert(_CITIZENS, _NEW_CITIZEN_COLUMNS)
_CARD_COLUMNS = ("citizen_id", "number", "social_insurance_number", "beneficiary_group",
                 "benefit_level", "valid_from", "valid_to", "registered_facility_code",
                 "provenance_id", "superseded_at", "created_at")
_INSERT_CARDS = Bulk.insert(_CARDS, _CARD_COLUMNS)
_INSERT_CHANGES = Bulk.insert(FieldChange.__table__, (
    "citizen_id", "field", "old_value", "old_provenance_id", "new_value", "new_provenance_id",
    "changed_at"))
_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence('citizens', 'id')) "
                 "FROM generate_series(1, :count)")
_TOP_ID = select(func.max(_CITIZENS.c.id))

# One import's own tables, temporary, on the one connection the import holds: the line that
# gave each resident the file has given so far, by citizen id (a repeat is refused with it),
# and the guardian links a chunk could not set (the guardian comes later, or the child was
# known before), set once everyone is in. The importer's memory stays one chunk however long
# the file. Keyed by citizen id, not personal ID: a chunk's new ids follow the last, so
# its lines go at the end of the table, where random personal IDs would each land on
# another page (at a million rows: 20 s of 145 on SQLite).
_STAGING = MetaData()
_LINES = Table("roster_lines", _STAGING,
               Column("citizen_id", BigIntPK, primary_key=True, autoincrement=False),
               Column("line", Integer), prefixes=["TEMPORARY"])
# `seq` numbers the links in the order of the file.
_LINKS = Table("roster_links", _STAGING,
               Column("seq", Integer, primary_key=True, autoincrement=False),
               Column("line", Integer),
               Column("child", String(12), nullable=False),
               Column("guardian", String(12), nullable=False), prefixes=["TEMPORARY"])
_STAGE_LINES = Bulk.insert(_LINES, ("citizen_id", "line"))
_STAGE_LINKS = Bulk.insert(_LINKS, ("seq", "line", "child", "guardian"))


@cache
def _lines_of(dialect: str) -> Select[Any]:
    """The lines that gave these citizens earlier in the file."""
    return select(_LINES.c.citizen_id, _LINES.c.line).where(
        one_of(_LINES.c.citizen_id, "citizen_ids", dialect))


@cache
def _existing(dialect: str) -> Select[Any]:
    return select(_CITIZENS).where(one_of(_CITIZENS.c.personal_id, "personal_ids", dialect))


@cache
def _ids_of(dialect: str) -> Select[Any]:
    """Which personal IDs are known, with their citizen ids, answered from the index alone
    (a first import finds none)."""
    return select(_CITIZENS.c.personal_id, _CITIZENS.c.id).where(
        one_of(_CITIZENS.c.personal_id, "personal_ids", dialect))


@cache
def _current_cards(dialect: str) -> Select[Any]:
    return (select(_CARDS)
            .where(one_of(_CARDS.c.citizen_id, "citizen_ids", dialect),
                   _CARDS.c.superseded_at.is_(None))
            .order_by(_CARDS.c.valid_from.nulls_first(), _CARDS.c.id))


@cache
def _sources(dialect: str) -> Select[Any]:
    return select(Provenance.id, Provenance.source).where(
        one_of(Provenance.__table__.c.id, "ids", dialect))


_DUPLICATE = N_("This personal ID already appears on line {line} of this file.")


def _card_row(citizen_id: int, card: CardEntry, provenance_id: int,
              now: dt.datetime) -> dict[str, Any]:
    return {
        "citizen_id": citizen_id,
        "number": card.number.number,
        "social_insurance_number": card.number.social_insurance_number,
        "beneficiary_group": card.number.beneficiary_group,
        "benefit_level": card.number.benefit_level,
        "valid_from": card.valid_from,
        "valid_to": card.valid_to,
        "registered_facility_code": card.registered_facility_code,
        "provenance_id": provenance_id,
        "superseded_at": None,
        "created_at": now,
    }


def _same_card(current: Any, card: CardEntry) -> bool:
    return (
        current.number == card.number.number
        and current.benefit_level == card.number.benefit_level
        and current.valid_from == card.valid_from
        and current.valid_to == card.valid_to
        and current.registered_facility_code == card.registered_facility_code
    )


async def _source_map(connection: Any, ids: set[int]) -> dict[int, Source]:
    if not ids:
        return {}
    return dict((await connection.execute(_sources(connection.dialect.name),
                                          {"ids": sorted(ids)})).all())


async def _reserve_ids(connection: AsyncConnection, count: int) -> Iterator[int]:
    """Ids for `count` new citizens, taken now so a chunk can refer to its new rows."""
    if connection.dialect.name == "postgresql":
        return iter((await connection.execute(_NEXT_IDS, {"count": count})).scalars().all())
    # SQLite gives a new row the largest id plus one; the chunk holds the write lock (BEGIN
    # IMMEDIATE), so no other writer takes these first.
    top = await connection.scalar(_TOP_ID) or 0
    return iter(range(top + 1, top + count + 1))


class RosterRun:
    """One roster import on one connection held throughout, with its staging tables."""

    def __init__(self, connection: AsyncConnection, sources: RosterSources) -> None:
        self.connection = connection
        self.sources = sources
        self.links = 0  # guardian links staged so far: the next `seq`

    @classmethod
    @asynccontextmanager
    async def open(cls, db: Database, sources: RosterSources) -> AsyncIterator[RosterRun]:
        async with db.held_connection() as connection:
            sqlite = connection.dialect.name == "sqlite"
            async with begin(connection):
                if sqlite:
                    # Every page of the file an import touches stays mapped and counts in the
                    # process's memory: the import reads through the page cache alone (64 MiB).
                    await connection.exec_driver_sql("PRAGMA mmap_size=0")
                await connection.run_sync(_drop_staging)  # a pooled connection may hold old ones
                await connection.run_sync(_STAGING.create_all)
            try:
                yield cls(connection, sources)
            finally:
                async with begin(connection):
                    await connection.run_sync(_drop_staging)
                    if sqlite:
                        await connection.exec_driver_sql(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")

    async def _refuse_repeats(self, entries: list[RosterEntry],
                              report: ImportReport) -> tuple[list[RosterEntry], dict[str, int]]:
        """The entries whose personal ID this file has not given before, and which of them
        are known (with their ids); a repeat is refused with the line that first gave it."""
        connection = self.connection
        dialect = connection.dialect.name
        # A resident the file gave earlier is one of the known: a first import has none.
        known: dict[str, int] = dict((await connection.execute(
            _ids_of(dialect), {"personal_ids": sorted({e.personal_id for e in entries})})).all())
        first: dict[str, int | None] = {}
        if known:
            lines = dict((await connection.execute(
                _lines_of(dialect), {"citizen_ids": sorted(known.values())})).all())
            first = {pid: lines[citizen_id] for pid, citizen_id in known.items()
                     if citizen_id in lines}
        taken: list[RosterEntry] = []
        for entry in entries:
            if entry.personal_id in first:
                report.reject(entry.line, Message(_DUPLICATE, {"line": first[entry.personal_id]}))
                continue
            first[entry.personal_id] = entry.line
            for warning in entry.warnings:
                report.warn(entry.line, warning)
            taken.append(entry)
        return taken, known

    async def apply_chunk(self, entries: list[RosterEntry], report: ImportReport) -> None:
        """Writes one chunk in one transaction: new citizens, changed fields, card periods,
        the guardian links it can set; the others are staged for `link_guardians`."""
        connection = self.connection
        async with begin(connection, write_lock=True):
            entries, known = await self._refuse_repeats(entries, report)
            placed, later = await _apply(connection, entries, known, self.sources, report)
            await _STAGE_LINES.copy(connection, sorted(
                ({"citizen_id": placed[e.personal_id], "line": e.line} for e in entries),
                key=itemgetter("citizen_id")))
            seqs = range(self.links + 1, self.links + len(later) + 1)
            await _STAGE_LINKS.copy(connection, [
                {"seq": seq, "line": e.line, "child": e.personal_id,
                 "guardian": e.guardian_personal_id} for seq, e in zip(seqs, later, strict=True)])
        self.links += len(later)

    async def link_guardians(self, report: ImportReport) -> None:
        """Sets the guardian links a chunk left (a guardian may come later in the file; a
        known child's link is weighed against the one it has), a page at a time."""
        connection = self.connection
        if connection.dialect.name == "postgresql":
            async with begin(connection):  # the planner learns the staging table's size
                await connection.exec_driver_sql(f"ANALYZE {_LINKS.name}")
        after = 0
        while True:
            async with begin(connection, write_lock=True):
                page = (await connection.execute(_LINK_PAGE, {"after": after, "size": CHUNK})).all()
                if not page:
                    return
                await _link(connection, page, self.sources.population, report)
            after = page[-1].seq


def _drop_staging(connection: Connection) -> None:
    for table in _STAGING.sorted_tables:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
    # Tables of earlier versions of this importer, on a connection pooled since.
    for table in ("roster_cards", "roster_seen"):
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


async def _apply(connection: AsyncConnection, entries: list[RosterEntry], known: dict[str, int],
                 sources: RosterSources, report: ImportReport,
                 ) -> tuple[dict[str, int], list[RosterEntry]]:
    """Writes the entries (`known`: those already in, with their ids); returns every entry's
    citizen id by personal ID, and the entries whose guardian link is left to
    `link_guardians`."""
    now = now_utc()
    dialect = connection.dialect.name
    pids = {e.personal_id for e in entries}
    existing = {row.personal_id: row for row in await connection.execute(
        _existing(dialect), {"personal_ids": sorted(pid for pid in known if pid in pids)})} \
        if known else {}
    prov_ids = {getattr(row, f"{name}_prov") for row in existing.values()
                for name in DEMOGRAPHIC_FIELDS} - {None}
    current_sources = await _source_map(connection, prov_ids)
    current_cards: dict[int, Any] = {}
    if existing:
        for card in await connection.execute(
                _current_cards(dialect), {"citizen_ids": [r.id for r in existing.values()]}):
            current_cards[card.citizen_id] = card  # the latest period wins
    # Who a new child's guardian link can point to now: residents already in (this chunk's
    # known ones included) and, as the loop goes, the new ones written before the child.
    placed = {pid: row.id for pid, row in existing.items()}
    elsewhere = {e.guardian_personal_id for e in entries
                 if e.guardian_personal_id and e.personal_id not in existing} - pids
    if elsewhere:
        placed.update((await connection.execute(
            _ids_of(dialect), {"personal_ids": sorted(elsewhere)})).all())
    new_ids = await _reserve_ids(connection, len(entries) - len(existing))

    new_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    new_cards: list[dict[str, Any]] = []
    superseded: list[int] = []
    later: list[RosterEntry] = []
    for entry in entries:
        row = existing.get(entry.personal_id)
        incoming = entry.demographics()
        guardian = entry.guardian_personal_id
        if guardian is not None:
            # A new child's guardian already in is linked as `link_guardians` would; a known
            # child's link is weighed there against the one it has, as any other.
            found = placed.get(guardian) if row is None else None
            if found is None:
                later.append(entry)
            else:
                incoming["guardian_id"] = found
        merge = merge_fields(row, incoming, Source.POPULATION_DB,
                             sources.population, current_sources, now,
                             citizen_id=row.id if row is not None else None)
        card_changed = entry.card is not None and (
            row is None or row.id not in current_cards
            or not _same_card(current_cards[row.id], entry.card))
        if row is None:
            citizen_id = next(new_ids)
            placed[entry.personal_id] = citizen_id
            values = dict.fromkeys(_NEW_CITIZEN_COLUMNS)
            values.update(merge.updates)
            if len(values) != len(_NEW_CITIZEN_COLUMNS):  # a value for a column not written
                raise AssertionError(sorted(set(values) - set(_NEW_CITIZEN_COLUMNS)))
            if values["status"] is None:  # a register that is silent on status: living here
                values["status"] = CitizenStatus.ACTIVE
            values.update(id=citizen_id, created_at=now, updated_at=now)
            new_rows.append(values)
            report.created += 1
        else:
            citizen_id = row.id
            if merge.changed or card_changed:
                if merge.changed:
                    updates.append({"_id": row.id, **_full_update(row, merge.updates, now)})
                    history.extend(merge.history)
                report.updated += 1
            else:
                report.unchanged += 1
        if card_changed:
            assert entry.card is not None
            new_cards.append(_card_row(citizen_id, entry.card, sources.insurance, now))
            if row is not None and row.id in current_cards:
                superseded.append(current_cards[row.id].id)

    await _INSERT_CITIZENS.copy(connection, new_rows)
    if updates:
        await connection.execute(
            update(_CITIZENS).where(_CITIZENS.c.id == bindparam("_id")), updates)
    await _INSERT_CHANGES.copy(connection, history)
    if superseded:
        await connection.execute(
            update(_CARDS).where(one_of(_CARDS.c.id, "ids", dialect)).values(superseded_at=now),
            {"ids": superseded})
    await _INSERT_CARDS.copy(connection, sorted(new_cards, key=itemgetter("number")))
    return placed, later


def _full_update(row: Any, changes: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """Every updatable column for an executemany UPDATE: the current values plus the changes."""
    values = {name: getattr(row, name) for name in DEMOGRAPHIC_FIELDS}
    values.update({f"{name}_prov": getattr(row, f"{name}_prov") for name in DEMOGRAPHIC_FIELDS})
    values["status_date"] = row.status_date
    values.update(changes)
    values["updated_at"] = now
    return values


_CHILD = _CITIZENS.alias("child")
_GUARDIAN = _CITIZENS.alias("guardian")
_LINK_PAGE = (
    select(_LINKS.c.seq, _LINKS.c.line, _CHILD.c.id.label("child_id"),
           _CHILD.c.guardian_id, _CHILD.c.guardian_id_prov,
           _GUARDIAN.c.id.label("found_guardian_id"))
    .select_from(_LINKS)
    .outerjoin(_CHILD, _CHILD.c.personal_id == _LINKS.c.child)
    .outerjoin(_GUARDIAN, _GUARDIAN.c.personal_id == _LINKS.c.guardian)
    .where(_LINKS.c.seq > bindparam("after"))
    .order_by(_LINKS.c.seq)
    .limit(bindparam("size"))
)
_SET_GUARDIAN = Bulk(
    update(_CITIZENS).where(_CITIZENS.c.id == bindparam("child_id")).values(
        guardian_id=bindparam("guardian_id"), guardian_id_prov=bindparam("guardian_id_prov"),
        updated_at=bindparam("updated_at")),
    {"child_id": _CITIZENS.c.id.type, "guardian_id": _CITIZENS.c.guardian_id.type,
     "guardian_id_prov": _CITIZENS.c.guardian_id_prov.type,
     "updated_at": _CITIZENS.c.updated_at.type},
)


async def _link(connection: AsyncConnection, page: list[Any], provenance_id: int,
                report: ImportReport) -> None:
    now = now_utc()
    sources = await _source_map(connection, {r.guardian_id_prov for r in page} - {None})
    updates, history = [], []
    for link in page:
        if link.child_id is None:  # the child's own row was not saved
            continue
        if link.found_guardian_id is None:
            report.warn(link.line, Message(N_(
                "No resident has the guardian's personal ID; guardian left empty.")))
            continue
        merge = merge_fields(link, {"guardian_id": link.found_guardian_id}, Source.POPULATION_DB,
                             provenance_id, sources, now, citizen_id=link.child_id)
        if merge.changed:
            updates.append({"child_id": link.child_id, "updated_at": now, **merge.updates})
            history.extend(merge.history)
    await _SET_GUARDIAN.run(connection, updates)
    await _INSERT_CHANGES.copy(connection, history)


async def write_entries(db: Database, entries: Iterable[RosterEntry], sources: RosterSources,
                        report: ImportReport) -> None:
    """Applies entries chunk by chunk, then the guardian links (a guardian may come later
    in the file)."""
    with few_collections():
        async with RosterRun.open(db, sources) as run:
            await write_in_chunks(run.apply_chunk, entries, report, "roster", CHUNK)
            await run.link_guardians(report)


__all__ = ["CHUNK", "RosterRun", "RosterSources", "write_entries"]
