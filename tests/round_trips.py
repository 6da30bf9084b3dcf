"""What one piece of work costs the database: the transactions it begins and the statements it
sends, recorded with SQLAlchemy's events on the real engine (no stub in between).

    with RoundTrips(db) as cost:
        await conversation.handle(...)
    assert cost.transactions <= 2, cost

A transaction is one BEGIN (a read that ends in a rollback counts as much as a write that
commits: each is a round trip to open and one to close on PostgreSQL); a statement is one
cursor execution. On SQLite both engines (aiosqlite and the one-hop reader) are watched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from core.db import Database


@dataclass
class RoundTrips:
    db: Database
    transactions: int = 0
    statements: list[str] = field(default_factory=list)

    def _engines(self) -> list[Engine]:
        engines = [self.db.engine.sync_engine]
        if self.db._reader is not None:
            engines.append(self.db._reader)
        return engines

    def _begin(self, _connection: Any) -> None:
        self.transactions += 1

    def _statement(self, _connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):  # counted as a transaction
            self.statements.append(" ".join(statement.split())[:120])

    def __enter__(self) -> RoundTrips:
        for engine in self._engines():
            event.listen(engine, "begin", self._begin)
            event.listen(engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_: object) -> None:
        for engine in self._engines():
            event.remove(engine, "begin", self._begin)
            event.remove(engine, "before_cursor_execute", self._statement)

    def __str__(self) -> str:
        listed = "\n  ".join(self.statements)
        return f"{self.transactions} transactions, {len(self.statements)} statements:\n  {listed}"
