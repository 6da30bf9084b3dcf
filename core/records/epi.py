"""A child's doses against the national EPI schedule: done, due, overdue, or coming next.

The schedule is `core.reference.vaccines.EPI_SCHEDULE` (Thông tư 38/2017/TT-BYT, annex). A dose
given counts for a scheduled one when it has the same dose number and protects against the same
diseases, or failing that against more of them (a hexavalent dose 2 for the pentavalent dose 2):
exact matches are taken first, so a pentavalent dose 1 never stands in for the birth dose of
hepatitis B.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.reference.vaccines import EPI_SCHEDULE, ScheduledDose, antigens_for
from core.values import PartialDate

# The schedule's last dose is due at 24 months, but a child's book shows it while they are a
# child (under 16, Luật Trẻ em 2016): a dose missed in infancy stays visible to catch up.
SHOWN_UNTIL_AGE = 16
# A dose is due from its date and overdue a month later: the grace the ward stations give before
# they call a family (our reading; the Circular names the ages, not a grace period).
GRACE = dt.timedelta(days=30)
# Doses further ahead than this are not listed yet: the next visit is what a parent plans for.
AHEAD = dt.timedelta(days=60)


class DoseState(enum.StrEnum):
    DONE = "done"
    DUE = "due"
    OVERDUE = "overdue"
    COMING = "coming"


@dataclass(frozen=True)
class ScheduleLine:
    scheduled: ScheduledDose
    state: DoseState
    due_on: dt.date
    given_on: dt.date | None = None


def _antigens(vaccine: str, antigens: str | None) -> frozenset[str]:
    named = antigens or antigens_for(vaccine) or vaccine
    return frozenset(part.strip() for part in named.split(",") if part.strip())


def epi_schedule(birth: PartialDate, doses: Iterable[tuple[str, str | None, int, dt.date]],
                 today: dt.date) -> tuple[ScheduleLine, ...]:
    """The schedule for a child born on `birth` given `doses` (vaccine, antigens, dose number,
    day given); empty for anyone of 16 or more, or whose birth day is not known."""
    if not birth.is_full or birth.age_on(today) >= SHOWN_UNTIL_AGE:
        return ()
    born = birth.earliest()
    given = [(_antigens(vaccine, antigens), number, day) for vaccine, antigens, number, day in doses]
    wanted = {scheduled: _antigens(scheduled.vaccine, None) for scheduled in EPI_SCHEDULE}
    taken: dict[ScheduledDose, int] = {}

    def assign(scheduled: ScheduledDose, fits) -> None:  # (antigens, wanted) -> bool
        found = next((i for i, (covers, number, _day) in enumerate(given)
                      if i not in taken.values() and number == scheduled.dose
                      and fits(covers, wanted[scheduled])), None)
        if found is not None:
            taken[scheduled] = found

    # Exact matches first; then a dose protecting against more, given to the scheduled dose that
    # asks the most of it (a hexavalent dose to the pentavalent line, never to the birth dose).
    for scheduled in EPI_SCHEDULE:
        assign(scheduled, lambda covers, asked: covers == asked)
    for scheduled in sorted(EPI_SCHEDULE, key=lambda s: -len(wanted[s])):
        if scheduled not in taken:
            assign(scheduled, lambda covers, asked: asked < covers)
    lines = []
    for scheduled in EPI_SCHEDULE:
        due = scheduled.due_on(born)
        if scheduled in taken:
            lines.append(ScheduleLine(scheduled, DoseState.DONE, due, given[taken[scheduled]][2]))
        elif today > due + GRACE:
            lines.append(ScheduleLine(scheduled, DoseState.OVERDUE, due))
        elif today >= due:
            lines.append(ScheduleLine(scheduled, DoseState.DUE, due))
        elif due - today <= AHEAD:
            lines.append(ScheduleLine(scheduled, DoseState.COMING, due))
    return tuple(lines)
