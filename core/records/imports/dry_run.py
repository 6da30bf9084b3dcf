"""A dry run: the real import, in one transaction rolled back at its end.

The importer runs unchanged, so its report is exactly what the import would do (a row
repeated further down the file, a guardian listed after the child, a visit sent twice all
count as they would), and nothing of it stays: no run, no provenance, no resident, no dose,
no visit. Each transaction the importer begins is a savepoint of the one transaction, so a
chunk the database refuses is still retried row by row.

The cost: the transaction holds what it writes until the end. On PostgreSQL other writers
wait only for the rows it touched (the residents a roster updates); on SQLite, which has one
writer, every other writer waits for the whole dry run (`busy_timeout`, then an error), so
a dry run of a large file belongs outside busy hours there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.db import ONE_TRANSACTION, Database

T = TypeVar("T")


class RolledBack(Database):
    """`db` as an import sees it in a dry run: one connection in one transaction, each unit
    of work a savepoint of it. Built by `rolled_back`, never by hand."""

    def __init__(self, db: Database, connection: AsyncConnection) -> None:  # no engine of its own
        self.url = db.url
        self.engine = db.engine
        self._reader = None
        self._thread = None
        self._held = connection

    def _joined(self) -> AsyncConnection | None:
        return None

    async def atomic(self, work: Callable[[], Awaitable[T]]) -> T:
        return await work()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(bind=self._held, expire_on_commit=False,
                                join_transaction_mode="create_savepoint") as session:
            yield session
            await session.commit()  # releases the session's savepoint only

    @asynccontextmanager
    async def connection(self, *, write_lock: bool = False) -> AsyncIterator[AsyncConnection]:
        async with self._held.begin_nested():
            yield self._held

    @asynccontextmanager
    async def held_connection(self) -> AsyncIterator[AsyncConnection]:
        yield self._held

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        async with self.connection() as connection:
            return await connection.run_sync(fn, *args)

    async def write(self, fn: Callable[..., T], *args: object) -> T:
        return await self.read(fn, *args)

    async def dispose(self) -> None:  # the engine is the real database's
        return None


@asynccontextmanager
async def rolled_back(db: Database) -> AsyncIterator[Database]:
    """A database for a dry run: everything done through it is undone when the block ends,
    however it ends."""
    async with db.engine.connect() as connection:
        await connection.execution_options(**{ONE_TRANSACTION: True})
        transaction = await connection.begin()
        try:
            if connection.dialect.name == "sqlite":
                # The write lock from the start: a dry run reads, then writes, for its whole
                # length, and SQLite refuses a transaction whose snapshot another writer passed.
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield RolledBack(db, connection)
        finally:
            await transaction.rollback()


__all__ = ["RolledBack", "rolled_back"]
