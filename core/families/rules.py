"""Who may act for whom: the one rule, pure, with its legal reading beside it.

Every channel asks `core.families` (which loads the facts and calls `right_over`); no journey
decides for itself. Two capacities exist:

* **Guardian of a child** — the guardian the population register names
  (`so_dinh_danh_nguoi_giam_ho`), or one a ward health station recorded after seeing the
  papers. A guardian is the child's legal representative (Civil Code 2015, art. 136; Luật Trẻ
  em 2016 art. 1: a child is under 16) and acts for the child in everything the book offers.
  Between 16 and 18 the guardian keeps the book until the teenager verifies with their own
  phone and takes it over; at 18 the right ends by itself (Civil Code art. 20: adulthood).
* **Proxy for an adult** — a person a verified adult named, for the powers they chose (read,
  show the QR, update details), until they withdraw it or it expires. A proxy never changes
  the adult's consent: consent to process health data is the person's own (Decree 13/2023
  art. 11), so only the person, or a child's guardian, gives it.

Never: a dead or moved-away subject; a guardian link that came from a clinic file or a
person's own word; a withdrawn or expired grant; anyone acting for themself (that is their
own book, not a right over someone's).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from core.i18n import N_, Translator
from core.records.provenance import Source
from core.values import CitizenStatus, PartialDate

ADULT_AGE = 18  # Civil Code 2015, art. 20
TAKE_OVER_AGE = 16  # Luật Trẻ em 2016, art. 1: a child is under 16
# Decree 13/2023 art. 20(1): processing the data of a child of 7 or more needs the child's
# agreement as well. We read it as: where a guardian shares the child's data (consent, check-in),
# the guardian confirms the child agreed, and the record says so.
CHILD_AGREES_AGE = 7

# Only the legal register, or a station that saw the papers, may name a guardian who then acts
# for the child (a clinic's file often names whoever came along).
GUARDIAN_SOURCES = frozenset({Source.POPULATION_DB, Source.HEALTH_STATION})


class Power(enum.StrEnum):
    READ = "read"  # read the book and its access history
    SHOW_QR = "show_qr"  # show the check-in QR and the spoken code
    UPDATE = "update"  # fill missing details, answer what waits, ask for corrections
    CONSENT = "consent"  # choose what clinics see (a guardian only)


POWER_LABELS = {
    Power.READ: N_("read the health book"),
    Power.SHOW_QR: N_("show the check-in code"),
    Power.UPDATE: N_("fill in and correct details"),
    Power.CONSENT: N_("choose what clinics may see"),
}

def power_names(powers: Iterable[Power | str], t: Translator) -> str:
    """The powers as a person reads them, in the order the choice is offered ("read the health
    book, show the check-in code")."""
    held = {Power(p) for p in powers if p in POWER_LABELS}
    return ", ".join(t.gettext(POWER_LABELS[p]) for p in (*PROXY_POWERS, Power.CONSENT) if p in held)


# What an adult may let a proxy do, in the order the choice is offered.
PROXY_POWERS = (Power.READ, Power.SHOW_QR, Power.UPDATE)
GUARDIAN_POWERS = frozenset(Power)


class Capacity(enum.StrEnum):
    GUARDIAN = "guardian"
    PROXY = "proxy"

    @property
    def label(self) -> str:
        return N_("guardian") if self is Capacity.GUARDIAN else N_("authorised family member")


# How a guardian or proxy who shows someone's check-in code is named on the receptionist's card
# (core.checkin.tokens.presented_as).
PRESENTED_AS = {
    "guardian": N_("guardian"),
    "guardian_child_agreed": N_("guardian; the child agreed"),
    "proxy": N_("authorised family member"),
}


@dataclass(frozen=True)
class Person:
    """What the rule needs to know of a person (the actor or the subject)."""

    id: int
    birth_date: PartialDate
    status: CitizenStatus = CitizenStatus.ACTIVE
    guardian_id: int | None = None
    guardian_source: Source | None = None  # where the guardian link came from
    taken_over_on: dt.date | None = None  # a teenager who took their own book over

    def age_on(self, day: dt.date) -> int:
        # The oldest the person can be (a birth year alone counts from 1 January): a right that
        # ends at an age ends at the earliest day it could.
        return self.birth_date.age_on(day)

    def took_over(self, today: dt.date) -> bool:
        # Only a teenager of 16 or more can take a book over: a handover recorded earlier (a
        # mistaken date) leaves the child with their guardian.
        on = self.taken_over_on
        return on is not None and self.turns(TAKE_OVER_AGE) <= on <= today

    def turns(self, age: int) -> dt.date:
        born = self.birth_date.earliest()
        try:
            return born.replace(year=born.year + age)
        except ValueError:  # born on 29 February
            return dt.date(born.year + age, 3, 1)


@dataclass(frozen=True)
class ProxyGrant:
    id: int
    grantor_id: int
    proxy_id: int
    powers: frozenset[Power]
    granted_on: dt.date
    expires_on: dt.date | None = None  # the last day it holds
    withdrawn_on: dt.date | None = None

    def in_force(self, today: dt.date) -> bool:
        return (self.granted_on <= today and self.withdrawn_on is None
                and (self.expires_on is None or today <= self.expires_on))


@dataclass(frozen=True)
class Right:
    """What an actor may do with a subject's book today, and why."""

    capacity: Capacity
    powers: frozenset[Power]
    ends_on: dt.date | None  # the first day it no longer holds, when it ends by itself
    child_agrees: bool = False  # the child is old enough that their agreement is recorded too

    def allows(self, power: Power) -> bool:
        return power in self.powers

    @property
    def presented_as(self) -> str:
        """What the card says of whoever shows the code under this right (PRESENTED_AS)."""
        if self.capacity is Capacity.GUARDIAN and self.child_agrees:
            return "guardian_child_agreed"
        return self.capacity.value


def guardian_right(actor: Person, subject: Person, today: dt.date) -> Right | None:
    if (subject.guardian_id != actor.id or subject.guardian_source not in GUARDIAN_SOURCES
            or actor.status is not CitizenStatus.ACTIVE or subject.status is not CitizenStatus.ACTIVE
            or actor.age_on(today) < ADULT_AGE or subject.age_on(today) >= ADULT_AGE
            or subject.took_over(today)):
        return None
    return Right(Capacity.GUARDIAN, GUARDIAN_POWERS, subject.turns(ADULT_AGE),
                 child_agrees=subject.age_on(today) >= CHILD_AGREES_AGE)


def proxy_right(actor: Person, subject: Person, grants: Iterable[ProxyGrant],
                today: dt.date) -> Right | None:
    if actor.status is not CitizenStatus.ACTIVE or subject.status is not CitizenStatus.ACTIVE \
            or actor.age_on(today) < ADULT_AGE or subject.age_on(today) < ADULT_AGE:
        return None
    held = [g for g in grants
            if g.grantor_id == subject.id and g.proxy_id == actor.id and g.in_force(today)]
    powers = frozenset(p for g in held for p in g.powers) & frozenset(PROXY_POWERS)
    if not powers:
        return None
    ends = [g.expires_on for g in held]
    last = None if None in ends else max(e for e in ends if e is not None) + dt.timedelta(days=1)
    return Right(Capacity.PROXY, powers, last)


def right_over(actor: Person, subject: Person, grants: Iterable[ProxyGrant],
               today: dt.date) -> Right | None:
    """The right `actor` holds over `subject`'s book on `today` (None: none at all)."""
    if actor.id == subject.id:
        return None
    return guardian_right(actor, subject, today) or proxy_right(actor, subject, grants, today)
