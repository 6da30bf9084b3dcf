"""A multi-row INSERT that gives back the new rows' ids, in the rows' order.

SQLAlchemy's `returning(..., sort_by_parameter_order=True)` knows no way to keep
the order on SQLite and falls back to one statement per row (~0.3 ms each
through aiosqlite). On SQLite one `INSERT ... VALUES (...), (...) RETURNING id`
does it: the rows go in in order and each new rowid is the largest so far plus
one, so the ids sorted are the rows' ids in order. PostgreSQL keeps SQLAlchemy's
own batched form, which orders by a sentinel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from core.db import Bulk


class BulkReturningIds(Bulk):
    """`Bulk.insert` that returns the new ids (the table's `id` column) in the rows' order."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        one_row = Bulk.insert(table, columns)
        super().__init__(one_row.statement, one_row.types)
        self._ordered = insert(table).returning(table.c.id, sort_by_parameter_order=True)

    async def ids(self, connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        dialect = connection.dialect
        if dialect.name != "sqlite":
            return list((await connection.execute(self._ordered, list(rows))).scalars())
        sql, getter, processors = self._prepare(dialect)
        values_at = sql.rindex("VALUES") + len("VALUES")
        one_row = sql[values_at:].strip()
        parameters: list[Any] = []
        for row in rows:
            values = list(getter(row))
            for index, process in processors:
                if values[index] is not None:
                    values[index] = process(values[index])
            parameters.extend(values)
        # SQLite binds up to 32,766 values: far more than a chunk's rows times columns.
        multi_row = f"{sql[:values_at]} {', '.join([one_row] * len(rows))} RETURNING id"
        result = await connection.exec_driver_sql(multi_row, tuple(parameters))
        return sorted(result.scalars())


__all__ = ["BulkReturningIds"]
