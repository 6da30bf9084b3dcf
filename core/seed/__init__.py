"""A synthetic Hanoi to develop and demonstrate with (`python -m core seed`).

Residents spread over the 126 wards in households, a health station per ward
plus polyclinics, medical centres, hospitals and private clinics, EPI and
COVID-19 immunizations, two years of visits with prescriptions and test results,
some chronic conditions and allergies; about one resident in six lacks at least
one demographic detail. The same seed and the same as-of date give the same city.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from core.i18n import today_hanoi
from core.records.imports.immunizations import ImmunizationEntry
from core.records.submission import VisitSubmission
from core.seed.clinical import HistoryFact, VisitFactory, doses_for, history_for
from core.seed.people import PeopleFactory, Resident, Town, build_town, leave_gaps


@dataclass
class SyntheticCity:
    seed: int
    today: dt.date
    town: Town
    residents: list[Resident] = field(default_factory=list)
    doses: list[ImmunizationEntry] = field(default_factory=list)
    visits: list[VisitSubmission] = field(default_factory=list)
    history: list[HistoryFact] = field(default_factory=list)


# A city this large ends with a household of three generations (PeopleFactory.demo_household).
DEMO_HOUSEHOLD_FROM = 50


def generate_city(people: int, seed: int = 1, today: dt.date | None = None, *,
                  clinical: bool = True) -> SyntheticCity:
    """`people` residents; `clinical=False` leaves out immunizations, visits and history."""
    today = today or today_hanoi()
    rng = random.Random(seed)
    city = SyntheticCity(seed, today, build_town(rng))
    factory = PeopleFactory(rng, city.town, today)
    while len(city.residents) < people:
        city.residents.extend(factory.household_members()[: people - len(city.residents)])
    if people >= DEMO_HOUSEHOLD_FROM:  # the last three give way to the household the sandbox shows
        city.residents[-3:] = factory.demo_household()
    # A guardian cut off by the size limit is not in the city: drop the link.
    present = {r.entry.personal_id for r in city.residents}
    for resident in city.residents:
        if resident.entry.guardian_personal_id not in present:
            resident.entry.guardian_personal_id = None
    leave_gaps(rng, city.residents)
    if clinical:
        visits = VisitFactory(rng, city.town, today)
        for resident in city.residents:
            city.doses.extend(doses_for(rng, resident, city.town, today))
            city.visits.extend(visits.visits_for(resident)[1])
            city.history.extend(history_for(rng, resident, city.town, today))
    return city


def demo_residents(city: SyntheticCity) -> list[str]:
    """Personal IDs worth showing a newcomer: an adult with visits, a child, someone with gaps."""
    with_visits = {v.personal_id for v in city.visits}
    picks: list[str] = []
    adults = [r for r in city.residents if r.entry.birth_date.age_on(city.today) >= 40
              and r.entry.personal_id in with_visits and r.entry.card is not None]
    children = [r for r in city.residents if r.entry.birth_date.age_on(city.today) < 6]
    gaps = [r for r in city.residents if r.entry.ward_code is None or r.entry.phone is None]
    for group in (adults, children, gaps):
        if group:
            picks.append(group[0].entry.personal_id)
    return picks or [city.residents[0].entry.personal_id]
