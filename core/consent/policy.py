"""The access policy: every read of a health book by anyone passes through here.

A clinic at check-in always sees the administrative and insurance groups (the
book replaces paper documents at reception, QĐ 2733/QĐ-BYT, QĐ 31/QĐ-BYT) and
the consent-gated groups only as far as the citizen has agreed: health data is
sensitive personal data and consent must be explicit and specific to a purpose
(Decree 13/2023/NĐ-CP, Law 91/2025/QH15). A volunteer sees only the
administrative fields needed to complete a record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from core.records.book_view import BookView
from core.records.display_rules import CATALOGUE, Audience, BookGroup, iter_fields

if TYPE_CHECKING:
    from core.consent.grants import CitizenConsent, FacilityGrant

ALWAYS_VISIBLE: dict[Audience, frozenset[BookGroup]] = {
    Audience.CITIZEN: frozenset(BookGroup),
    Audience.CLINIC: frozenset({BookGroup.GENERAL, BookGroup.INSURANCE}),
    Audience.VOLUNTEER: frozenset({BookGroup.GENERAL}),
}

# The groups a citizen can open to clinics, one consent choice each.
CONSENTABLE: frozenset[BookGroup] = frozenset(s.group for s in CATALOGUE if s.consent_gated)


@dataclass(frozen=True)
class ConsentScope:
    """The consent-gated groups a citizen has opened to this reader (none by default)."""

    groups: frozenset[BookGroup] = frozenset()

    @classmethod
    def none(cls) -> ConsentScope:
        return cls()


def visible_groups(audience: Audience, consent: ConsentScope = ConsentScope()) -> frozenset[BookGroup]:
    """The groups of the book this audience may see, given the citizen's consent."""
    allowed = ALWAYS_VISIBLE[audience]
    if audience is Audience.CLINIC:
        allowed = allowed | (consent.groups & CONSENTABLE)
    return allowed


@cache
def visible_fields(audience: Audience, consent: ConsentScope = ConsentScope()) -> frozenset[str]:
    """The keys of every catalogue field this audience may receive."""
    groups = visible_groups(audience, consent)
    return frozenset(
        f.key
        for section in CATALOGUE
        if section.group in groups
        for f in iter_fields(section)
        if audience in f.audiences
    )


@cache
def view_for(audience: Audience, consent: ConsentScope = ConsentScope()) -> BookView:
    """What a book built for this audience may show: the view the builder obeys."""
    return BookView(audience, visible_groups(audience, consent), visible_fields(audience, consent))


@dataclass(frozen=True)
class Reader:
    """Someone other than the citizen who asks to read the book (staff, through a channel)."""

    account_id: int | None
    role: str  # a core.staff.model.StaffRole value
    facility_code: str | None = None
    ward_code: str | None = None
    name: str | None = None
    facility_name: str | None = None  # when the caller knows it already (a staff member's)


# A child's guardian and an adult's proxy read the whole book, as the person would (core.families
# decides whether they may at all, and what else they may do).
# Health station staff see what a volunteer sees: the administrative details they confirm.
_AUDIENCE_OF_ROLE = {"receptionist": Audience.CLINIC, "volunteer": Audience.VOLUNTEER,
                     "station": Audience.VOLUNTEER,
                     "guardian": Audience.CITIZEN, "proxy": Audience.CITIZEN}


def decide(reader: Reader, consent: CitizenConsent, today: dt.date) -> tuple[Audience, ConsentScope]:
    """The one decision for every read by anyone who is not the citizen.

    A receptionist gets the clinic audience: general and insurance always, plus the
    groups the citizen opened to any clinic, plus those granted to the reader's own
    facility while the grant lasts. Anyone else gets nothing consent-gated.
    """
    audience = _AUDIENCE_OF_ROLE.get(reader.role)
    if audience is None:
        raise PermissionError(f"no audience for the role {reader.role!r}")
    if audience is not Audience.CLINIC:
        return audience, ConsentScope()
    groups = set(consent.any_clinic)
    grant = consent.grant_for(reader.facility_code) if reader.facility_code else None
    if grant is not None and grant.in_force(today):
        groups |= grant.groups
    return audience, ConsentScope(frozenset(groups) & CONSENTABLE)


def facilities_see_more(consent: CitizenConsent, today: dt.date,
                        ) -> list[tuple[FacilityGrant, frozenset[BookGroup]]]:
    """The facilities whose grant, in force today, shows more than any clinic sees, with what more:
    for the citizen's own view (the QR code's message names them)."""
    anyone = any_clinic_sees(consent, today)
    found = []
    for grant in consent.facilities:
        if grant.in_force(today):
            _audience, scope = decide(Reader(None, "receptionist", grant.facility_code), consent, today)
            more = frozenset(scope.groups) - anyone
            if more:
                found.append((grant, more))
    return found


def any_clinic_sees(consent: CitizenConsent, today: dt.date) -> frozenset[BookGroup]:
    """What a clinic with no grant of its own sees at check-in: for the citizen's own view."""
    audience, scope = decide(Reader(None, "receptionist"), consent, today)
    return visible_groups(audience, scope)
