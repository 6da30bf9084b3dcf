"""Every table of the service, imported in one place for Alembic and the tests.

The top of `core` (core.layers): it imports every floor, and nothing imports it but
the migrations' environment and the tests.
"""

from core.checkin.tokens import CheckinToken
from core.consent.chain import ChainHead
from core.consent.records import AccessEvent, ConsentChange
from core.corrections.model import CorrectionRequest
from core.families.model import BookHandover, ProxyGrantRow
from core.identity.accounts import ChannelAccount
from core.identity.attempts import IdentityLockout, VerificationAttempt
from core.identity.sessions import ChannelSession
from core.inbox import ChannelUpdate
from core.marks import DatabaseMark
from core.notices import CitizenNotice
from core.pacing import SendPace
from core.records.base import Base
from core.records.citizen import Citizen, FieldChange
from core.records.facility import Facility
from core.records.history import Allergy, Condition, Disability, FamilyHistory, RiskFactor, Surgery
from core.records.immunization import Immunization
from core.records.insurance import InsuranceCard
from core.records.operations import ImportRun, QuarantinedSubmission
from core.records.provenance import Provenance
from core.records.visit import Prescription, Service, TestResult, Visit
from core.reporting.centres import HealthCentre, HealthCentreWard
from core.reporting.figures import WardFieldFigures, WardFigures, WardMonthStocks
from core.staff.model import StaffInvite, StaffMember
from core.tallies import WardTally
from core.volunteering.model import PendingValue, WardChangeReport

__all__ = [
    "AccessEvent",
    "Allergy",
    "Base",
    "BookHandover",
    "ChainHead",
    "ChannelAccount",
    "ChannelSession",
    "ChannelUpdate",
    "CheckinToken",
    "Citizen",
    "CitizenNotice",
    "Condition",
    "ConsentChange",
    "CorrectionRequest",
    "DatabaseMark",
    "Disability",
    "Facility",
    "FamilyHistory",
    "FieldChange",
    "HealthCentre",
    "HealthCentreWard",
    "IdentityLockout",
    "Immunization",
    "ImportRun",
    "InsuranceCard",
    "PendingValue",
    "Prescription",
    "Provenance",
    "ProxyGrantRow",
    "QuarantinedSubmission",
    "RiskFactor",
    "SendPace",
    "Service",
    "StaffInvite",
    "StaffMember",
    "Surgery",
    "TestResult",
    "VerificationAttempt",
    "Visit",
    "WardChangeReport",
    "WardFieldFigures",
    "WardFigures",
    "WardMonthStocks",
    "WardTally",
]
