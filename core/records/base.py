"""Declarative base and the column types the record shares."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, SmallInteger, String, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase

from core.values import BloodGroup, PartialDate

# Stable constraint names make migrations reproducible on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit keys on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid itself.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as UTC on both databases."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the record; attach a timezone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class PartialDateType(TypeDecorator[PartialDate]):
    impl = String(10)
    cache_ok = True

    def process_bind_param(self, value: PartialDate | None, dialect: Any) -> str | None:
        return None if value is None else value.iso()

    def process_result_value(self, value: str | None, dialect: Any) -> PartialDate | None:
        return None if value is None else PartialDate.from_iso(value)


class BloodGroupType(TypeDecorator[BloodGroup]):
    impl = String(3)
    cache_ok = True

    def process_bind_param(self, value: BloodGroup | None, dialect: Any) -> str | None:
        return None if value is None else value.code()

    def process_result_value(self, value: str | None, dialect: Any) -> BloodGroup | None:
        return None if value is None else BloodGroup.from_code(value)


class IntEnumType(TypeDecorator[enum.IntEnum]):
    impl = SmallInteger
    cache_ok = True

    def __init__(self, enum_class: type[enum.IntEnum]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: enum.IntEnum | None, dialect: Any) -> int | None:
        return None if value is None else int(value)

    def process_result_value(self, value: int | None, dialect: Any) -> enum.IntEnum | None:
        return None if value is None else self.enum_class(value)


def str_enum(enum_class: type[enum.StrEnum]) -> SAEnum:
    """A string enum stored as its value in a VARCHAR (no native enum: easy to extend)."""
    return SAEnum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        PartialDate: PartialDateType(),
        BloodGroup: BloodGroupType(),
    }
