"""Value types of the record: partial dates, sex, blood group, status.

The vocabulary every floor of `core` speaks (validators return these, tables store
them), so it sits at the bottom with no import of its own.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass


class Sex(enum.IntEnum):
    # QĐ 130/QĐ-BYT, XML1 GIOI_TINH: 1 male, 2 female, 3 undetermined.
    MALE = 1
    FEMALE = 2
    UNDETERMINED = 3


class CitizenStatus(enum.StrEnum):
    ACTIVE = "active"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date that may be known only to the month or the year.

    Old records often hold only a birth year; the record keeps what is known and
    never invents a day. Stored as ISO text (`1948`, `1948-07`, `1948-07-15`).
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        # Raises ValueError for impossible dates such as 31/02.
        dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def of(cls, value: dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @classmethod
    def from_iso(cls, text: str) -> PartialDate:
        parts = [int(p) for p in text.split("-")]
        return cls(*parts)

    def iso(self) -> str:
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    @property
    def is_full(self) -> bool:
        return self.day is not None

    def earliest(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    def display(self) -> str:
        """`15/07/1948`, `--/07/1948` or `1948` (QĐ 4026 shows what is known)."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"--/{self.month:02d}/{self.year:04d}"
        return f"{self.day:02d}/{self.month:02d}/{self.year:04d}"

    def matches(self, value: dt.date) -> bool:
        """Whether a full date agrees with everything this partial date knows."""
        return (
            value.year == self.year
            and (self.month is None or value.month == self.month)
            and (self.day is None or value.day == self.day)
        )

    def vaguer_than(self, other: PartialDate) -> bool:
        """Whether this date knows less than `other` and agrees with all it knows (1948 and 15/07/1948)."""
        def known(date: PartialDate) -> int:
            return (date.month is not None) + (date.day is not None)

        return (known(self) < known(other) and self.year == other.year
                and (self.month is None or self.month == other.month))

    def age_on(self, day: dt.date) -> int:
        born = self.earliest()
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class BloodGroup:
    """ABO group and Rh factor, either of them alone when only it is known (`O+`, `AB-`,
    `B`, or `+` for Rh+ alone): the register records what was tested (QĐ 831 part 2)."""

    abo: str | None
    rh: str | None = None

    ABO_GROUPS = ("A", "B", "AB", "O")

    def __post_init__(self) -> None:
        if self.abo not in (None, *self.ABO_GROUPS) or self.rh not in (None, "+", "-") \
                or (self.abo is None and self.rh is None):
            raise ValueError(f"not a blood group: {self.abo or ''}{self.rh or ''}")

    @classmethod
    def from_code(cls, text: str) -> BloodGroup:
        if text.endswith(("+", "-")):
            return cls(text[:-1] or None, text[-1])
        return cls(text)

    def code(self) -> str:
        return f"{self.abo or ''}{self.rh or ''}"

    def display(self) -> str:
        if self.rh is None:
            return self.abo or ""
        if self.abo is None:
            return f"Rh{'+' if self.rh == '+' else '−'}"
        return f"{self.abo} Rh{'+' if self.rh == '+' else '−'}"
