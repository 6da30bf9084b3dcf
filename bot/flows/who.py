"""What an account is, as far as journeys care: a linked citizen, a staff role, both, or neither."""

from __future__ import annotations

import enum

from core.identity.accounts import Account
from core.staff.service import Staff


class Who(enum.StrEnum):
    """What an account is, as far as journeys care (one account may be several)."""

    UNLINKED = "unlinked"  # not (yet) a verified citizen
    CITIZEN = "citizen"  # linked to a citizen's record
    RECEPTIONIST = "receptionist"
    VOLUNTEER = "volunteer"
    STATION = "station"  # ward health-station staff
    CENTRE_VIEWER = "centre_viewer"  # the console's figures only (core.staff.model.StaffRole)
    CITY_VIEWER = "city_viewer"
    OPERATOR = "operator"


def who_is(account: Account, staff: Staff | None) -> frozenset[Who]:
    """What an account is: a linked citizen, a staff role, both, or neither."""
    kinds = {Who.CITIZEN} if account.linked else set()
    if staff is not None:
        kinds.add(Who(staff.role.value))
    return frozenset(kinds) or frozenset({Who.UNLINKED})
