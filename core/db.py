"""Database engine, sessions and the unit of work.

SQLite through aiosqlite is the embedded default (WAL, foreign keys on);
`DATABASE_URL=postgresql+asyncpg://...` selects PostgreSQL. Each use case runs
in one transaction: `async with db.transaction() as session: ...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL with synchronous=NORMAL is durable against application crashes and
    # loses at most the last commits on power loss: the usual WAL trade-off.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


T = TypeVar("T")


class Database:
    """One engine and its session factory; the service layer's entry point."""

    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._reader: Engine | None = None
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            # Every aiosqlite statement costs several thread hops (~0.5 ms here);
            # a read of many small queries (a health book) runs instead in one
            # hop on a plain sqlite3 connection in a worker thread.
            sync_url = parsed.set(drivername="sqlite+pysqlite")
            self._reader = create_sync_engine(
                sync_url, connect_args={"check_same_thread": False}
            )
            event.listen(self._reader, "connect", _sqlite_pragmas)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends, rolls back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection in one transaction, for bulk work (imports, seed)."""
        async with self.engine.begin() as connection:
            yield connection

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Runs `fn(connection, *args)` on a synchronous Core connection, read-only, in one hop."""
        if self._reader is not None:
            return await asyncio.to_thread(self._read_in_thread, fn, *args)
        async with self.engine.connect() as connection:
            return await connection.run_sync(fn, *args)

    def _read_in_thread(self, fn: Callable[..., T], *args: object) -> T:
        assert self._reader is not None
        with self._reader.connect() as connection:
            return fn(connection, *args)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()
