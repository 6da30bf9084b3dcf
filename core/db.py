"""Database engine, sessions and the unit of work.

SQLite through aiosqlite is the embedded default (WAL, foreign keys on);
`DATABASE_URL=postgresql+asyncpg://...` selects PostgreSQL. Each use case runs
in one transaction: `async with db.transaction() as session: ...`, or, for a use
case made of many small reads and writes (one input of a conversation),
`await db.atomic(work)`: on PostgreSQL every `db.read`/`db.write` inside joins one
transaction, so an input costs one BEGIN and one COMMIT, not one per call.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, String, Table, any_, bindparam, event, func, select
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.base import Executable
from sqlalchemy.types import TypeDecorator, TypeEngine

log = logging.getLogger(__name__)

# A pooled PostgreSQL connection is replaced after this long: a server, proxy or firewall that
# drops idle connections after longer is never met with one (the usual idle cut is 30 minutes+).
POOL_RECYCLE_SECONDS = 20 * 60
# Connections a process keeps open on PostgreSQL: a bot worker answers TELEGRAM_CONCURRENCY (16)
# updates at once and stores what the webhook receives meanwhile. None beyond: SQLAlchemy's
# default (5, and 10 more closed as soon as they are returned) opened a connection input after
# input under load, each a login and every statement prepared again; a wait of a few
# milliseconds for one of these costs less. N workers hold N × this within max_connections.
POOL_SIZE = 20

SQLITE_MMAP_BYTES = 256 * 2**20


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL with synchronous=NORMAL is durable against application crashes and
    # loses at most the last commits on power loss: the usual WAL trade-off.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")


    # 64 MiB of page cache per connection (the default is 2 MiB): with a million
    # residents the indexes no longer fit the default and every insert misses.
    cursor.execute("PRAGMA cache_size=-65536")
    # Reads straight from the mapped file rather than a read() call per page.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def _sqlite_own_transactions(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling never begins a transaction for a SELECT and
    # cannot take the write lock up front; SQLAlchemy's recipe: emit BEGIN ourselves.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection) -> None:
    write = connection.get_execution_options().get("sqlite_write_lock", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    # Statement parameters are personal and health data: never in a log line or
    # in the text of an error, whatever logging level an operator turns on.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # Last in, first out: the connection used most recently still has its page
        # cache warm (a round-robin pool would start every chunk of an import cold).
        kwargs.setdefault("pool_use_lifo", True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No `pool_pre_ping`: a ping on every checkout is one more round trip for every group of
    # statements. Stale connections are recycled before a server or proxy drops them, and one
    # found dead all the same (a restarted server) fails at its first statement, before anything
    # is committed: `Database` then runs the work once more on a new connection.
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", 0)
    # asyncpg prepares each statement once per connection and SQLAlchemy keeps the prepared
    # statements (`prepared_statement_cache_size`, 100 by default): never set it to 0 here.
    return create_async_engine(url, **kwargs)


def insert_if_absent(connection: Connection, table: Table, values: Mapping[str, Any],
                     keys: Sequence[str]) -> bool:
    """Inserts the row unless one with the same `keys` (a unique key) is already there; True when
    this call inserted it. `INSERT … ON CONFLICT DO NOTHING` on PostgreSQL and SQLite alike: two
    workers creating one row at once both go on, neither meets an IntegrityError."""
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    result = connection.execute(dialect_insert(table).values(dict(values))
                                .on_conflict_do_nothing(index_elements=list(keys)))
    return result.rowcount == 1


def lock_or_insert(connection: Connection, table: Table, values: Mapping[str, Any],
                   keys: Sequence[str], returning: Sequence[str]) -> Any:
    """The row with the same `keys` (a unique key), locked for this transaction, or `values`
    inserted when there is none: `returning` of it, in one statement. `INSERT … ON CONFLICT DO
    UPDATE` (a no-op update of the key) on PostgreSQL and SQLite alike, where a SELECT … FOR
    UPDATE, an insert and a second SELECT would be three."""
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(table).values(dict(values))
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={keys[0]: statement.excluded[keys[0]]})
    return connection.execute(statement.returning(*(table.c[name] for name in returning))).one()


T = TypeVar("T")

# The transaction of `Database.atomic` in progress in this task, if any, and its database.
_ATOMIC: ContextVar[tuple[Database, AsyncConnection] | None] = ContextVar("ehr_atomic", default=None)


class Database:
    """One engine and its session factory; the service layer's entry point."""

    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            # Every aiosqlite statement costs several thread hops (~0.5 ms here);
            # a read of many small queries (a health book) runs instead in one
            # hop on a plain sqlite3 connection in a worker thread.
            sync_url = parsed.set(drivername="sqlite+pysqlite")
            self._reader = create_sync_engine(
                sync_url, connect_args={"check_same_thread": False}, hide_parameters=True,
                pool_use_lifo=True,
            )
            event.listen(self._reader, "connect", _sqlite_pragmas)
            event.listen(self._reader, "connect", _sqlite_own_transactions)
            event.listen(self._reader, "begin", _sqlite_begin)
            # These hops run on one thread of their own (`_hop`), not asyncio's shared pool:
            # SQLite writes one at a time anyway, and six threads trading the GIL cost more
            # than they overlap (measured: 1.7 M context switches for 34,000 bot inputs).

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _joined(self) -> AsyncConnection | None:
        """The connection of this database's `atomic` work in progress in this task, if any."""
        current = _ATOMIC.get()
        return current[1] if current is not None and current[0] is self else None

    async def atomic(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs `work()` with all its reads and writes in one transaction, on PostgreSQL.

        Commits when `work` returns, rolls back when it raises. Locks taken inside are held until
        the end, so `work` should be short and make no call outside the database. On SQLite each
        call keeps its own short transaction: the file is local (no round trip to save), and a
        transaction that reads and later writes would fail at once if another process wrote in
        between (SQLite has one writer).
        """
        if self._reader is not None or self._joined() is not None:
            return await work()

        async def joined(connection: AsyncConnection) -> T:
            token = _ATOMIC.set((self, connection))
            try:
                return await work()
            finally:
                _ATOMIC.reset(token)
        return await self._retrying(joined, write=True)

    async def _retrying(self, run: Callable[[AsyncConnection], Awaitable[T]], *, write: bool) -> T:
        """`run(connection)` in a transaction; once more on a new connection when the first
        was found dead before the commit (nothing was committed then). A failure while committing
        may have committed: that one is never run twice."""
        for attempt in (1, 2):
            committing = False
            try:
                async with (self.engine.begin() if write else self.engine.connect()) as connection:
                    result = await run(connection)
                    committing = True
                return result
            except DBAPIError as error:
                if attempt == 2 or committing or not error.connection_invalidated:
                    raise
                log.warning("a database connection was found closed; trying again on a new one")
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back on any error."""
        joined = self._joined()
        if joined is not None:  # inside `atomic`: its transaction, committed at its end
            async with self.sessions(bind=joined) as session:
                yield session
                await session.flush()
            return
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self, *, write_lock: bool = False) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction, for bulk work (imports, seed).

        `write_lock=True` takes SQLite's write lock when the transaction starts
        (BEGIN IMMEDIATE): a transaction that reads, then writes, would otherwise
        fail at once with "database is locked" when another process wrote in
        between, whatever the busy timeout. PostgreSQL needs nothing of the kind.
        """
        joined = self._joined()
        if joined is not None:  # inside `atomic` (PostgreSQL): its transaction
            yield joined
            return
        async with self.engine.connect() as connection, begin(connection, write_lock=write_lock):
            yield connection

    @asynccontextmanager
    async def held_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection held for a whole import (its own staging tables live on it), in no
        transaction: each of its transactions is begun with `begin`."""
        async with self.engine.connect() as connection:
            yield connection

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Runs `fn(connection, *args)` on a synchronous Core connection, read-only, in one hop.

        The reads share one snapshot (one transaction), so a book never mixes two states.
        """
        if self._reader is not None:
            return await self._hop(False, fn, *args)
        joined = self._joined()
        if joined is not None:
            return await joined.run_sync(fn, *args)
        return await self._retrying(lambda connection: connection.run_sync(fn, *args), write=False)

    async def write(self, fn: Callable[..., T], *args: object) -> T:
        """Runs `fn(connection, *args)` in one short write transaction, in one hop.

        For the small writes of a conversation (its state, a verification attempt):
        on SQLite the write lock is taken when the transaction begins, so concurrent
        writers wait their turn (busy_timeout) instead of failing.
        """
        if self._reader is not None:
            return await self._hop(True, fn, *args)
        joined = self._joined()
        if joined is not None:
            return await joined.run_sync(fn, *args)
        return await self._retrying(lambda connection: connection.run_sync(fn, *args), write=True)

    async def _hop(self, write: bool, fn: Callable[..., T], *args: object) -> T:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(self._in_thread, write, fn, *args))

    def _in_thread(self, write: bool, fn: Callable[..., T], *args: object) -> T:
        assert self._reader is not None
        with self._reader.connect() as connection:
            connection = connection.execution_options(sqlite_write_lock=write)
            with connection.begin():
                return fn(connection, *args)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None


# An execution option of a connection that holds one transaction for a whole piece of work
# (an import's dry run, rolled back at its end): each `begin` on it is a savepoint of it.
ONE_TRANSACTION = "ehr_one_transaction"


@asynccontextmanager
async def begin(connection: AsyncConnection, *, write_lock: bool = False) -> AsyncIterator[None]:
    """One transaction on a connection held for longer (an import's own staging tables live
    on it); `write_lock` as in `Database.connection`."""
    if connection.sync_connection.get_execution_options().get(ONE_TRANSACTION):
        async with connection.begin_nested():
            yield
        return
    async with connection.begin():
        if write_lock and connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield


_UNSEEN = object()


class Bulk:
    """An executemany that skips SQLAlchemy's per-row parameter handling.

    Imports write a million rows; SQLAlchemy's generic per-parameter processing
    costs more than SQLite's own insert there. The statement is compiled once per
    dialect, and only the columns whose type needs it (dates, enums, value types)
    are converted, with SQLAlchemy's own bind processors, so the stored form is
    exactly what the ORM writes and reads.
    """

    def __init__(self, statement: Executable, types: Mapping[str, TypeEngine[Any]]) -> None:
        self.statement = statement
        self.types = types
        self._prepared: dict[str, tuple[str, Callable[[Mapping[str, Any]], tuple[Any, ...]],
                                        tuple[tuple[int, Any], ...]]] = {}

    @classmethod
    def insert(cls, table: Table, columns: Sequence[str]) -> Bulk:
        statement = sa_insert(table).values({name: bindparam(name) for name in columns})
        bulk = cls(statement, {name: table.c[name].type for name in columns})
        bulk.table = table
        return bulk

    table: Table | None = None  # set by `insert`: what `copy` writes into

    def _prepare(self, dialect: Dialect) -> tuple[
            str, Callable[[Mapping[str, Any]], tuple[Any, ...]], tuple[tuple[int, Any], ...]]:
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            compiled = self.statement.compile(dialect=dialect)
            if not compiled.positiontup:
                raise NotImplementedError(f"{dialect.name}: a positional paramstyle is needed")
            order = tuple(compiled.positiontup)
            processors = tuple(
                (index, process) for index, name in enumerate(order)
                if (process := self.types[name].bind_processor(dialect)) is not None)
            # itemgetter of one name returns the value itself, not a 1-tuple.
            getter = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
            prepared = self._prepared[dialect.name] = (compiled.string, getter, processors)
        return prepared

    def _parameters(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        _sql, getter, processors = self._prepare(dialect)
        if not processors:
            return [getter(row) for row in rows]
        parameters: list[tuple[Any, ...]] = []
        # A chunk repeats values: its timestamp, and the dates and value objects its validators
        # share between rows (`core.validation` reads each distinct date once). Each object is
        # converted once a chunk, found by its id: every one of them lives as long as `rows`.
        memos: list[dict[int, Any]] = [{} for _ in processors]
        slots = tuple(zip(processors, memos, strict=True))
        for row in rows:
            values = list(getter(row))
            for (index, process), memo in slots:
                value = values[index]
                if value is None:
                    continue
                converted = memo.get(id(value), _UNSEEN)
                if converted is _UNSEEN:
                    converted = memo[id(value)] = process(value)
                values[index] = converted
            parameters.append(tuple(values))
        return parameters

    async def run(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        sql = self._prepare(connection.dialect)[0]
        await connection.exec_driver_sql(sql, self._parameters(connection.dialect, rows))

    async def copy(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """`run`, through PostgreSQL's COPY where the database has it (an `insert` of plain
        columns only), inside the connection's transaction."""
        if not rows:
            return
        if connection.dialect.name != "postgresql" or self.table is None:
            await self.run(connection, rows)
            return
        driver = (await connection.get_raw_connection()).driver_connection
        if not driver.is_in_transaction():  # type: ignore[union-attr]
            # The adapter begins its transaction at the first statement; COPY is not one.
            await connection.exec_driver_sql("SELECT 1")
        columns = self.statement.compile(dialect=connection.dialect).positiontup or ()
        await driver.copy_records_to_table(  # type: ignore[union-attr]
            self.table.name, columns=list(columns),
            records=self._parameters(connection.dialect, rows))


class BulkReturningIds(Bulk):
    """`Bulk.insert` that gives back the new rows' ids, in the rows' order.

    SQLAlchemy's `returning(..., sort_by_parameter_order=True)` runs one statement
    per row on SQLite (~0.3 ms each through aiosqlite). On SQLite one multi-row
    `INSERT ... VALUES (...), (...) RETURNING id` does it: rows go in in order and
    each new rowid is the largest so far plus one, so the sorted ids are the rows'
    ids in order. PostgreSQL keeps SQLAlchemy's batched form (ordered by a sentinel).
    """

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        one_row = Bulk.insert(table, columns)
        super().__init__(one_row.statement, one_row.types)
        self._ordered = sa_insert(table).returning(table.c.id, sort_by_parameter_order=True)

    async def ids(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        dialect = connection.dialect
        if dialect.name != "sqlite":
            return list((await connection.execute(self._ordered, list(rows))).scalars())
        sql = self._prepare(dialect)[0]
        values_at = sql.rindex("VALUES") + len("VALUES")
        one_row = sql[values_at:].strip()
        flat = tuple(value for values in self._parameters(dialect, rows) for value in values)
        # SQLite binds up to 32,766 values: far more than a chunk's rows times columns.
        multi_row = f"{sql[:values_at]} {', '.join([one_row] * len(rows))} RETURNING id"
        result = await connection.exec_driver_sql(multi_row, flat)
        return sorted(result.scalars())


class _JsonList(TypeDecorator[list[Any]]):
    """A list bound as one JSON text, for SQLite's json_each."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)


def one_of(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of a list bound as one parameter `name`: `= ANY(:name)` on PostgreSQL,
    `IN (SELECT value FROM json_each(:name))` on SQLite.

    An IN list of 10,000 binds is a new statement for each length (PostgreSQL prepares each
    anew) and 10,000 values to bind one by one; one parameter is one statement, bound once.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    values = func.json_each(bindparam(name, type_=_JsonList())).table_valued("value")
    return column.in_(select(values.c.value))
