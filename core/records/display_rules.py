"""The health-book display rules: every field the book shows, in one catalogue.

This mirrors what VNeID shows of the electronic health book. For each field: a
stable key, its label, how the value is formatted, who may see it, what is
shown when it is missing, and the legal text it comes from. `our_reading=True`
marks a mapping that is our interpretation rather than the letter of the text.

Sources: QĐ 4026/QĐ-BYT (31/10/2023, the fields VNeID shows in the pilot);
QĐ 831/QĐ-BYT (11/03/2017, the four-part personal health record template);
QĐ 130/QĐ-BYT (18/01/2023, the clinics' checkout data); QĐ 31/QĐ-BYT
(06/01/2026, the groups usable in place of paper).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.i18n import N_, TIMEZONE
from core.records.display_format import (
    CHRONIC_LABELS,
    STATUS_LABELS,
    BookFormat,
    Formatter,
    as_benefit_level,
    as_blood_group,
    as_date,
    as_ethnicity,
    as_facility,
    as_moment,
    as_nationality,
    as_number,
    as_partial_date,
    as_phone,
    as_sex,
    as_text,
    as_ward,
    labelled,
)
from core.records.history import ALLERGY_KIND_LABELS, RISK_FACTOR_LABELS
from core.records.immunization import PROGRAMME_LABELS
from core.records.visit import TREATMENT_RESULT_LABELS, VISIT_KIND_LABELS
from core.validation import phone_national


class Audience(enum.StrEnum):
    CITIZEN = "citizen"      # the person the record is about (or their guardian)
    CLINIC = "clinic"        # reception of a clinic, at check-in
    VOLUNTEER = "volunteer"  # youth-union / community digital-team volunteer


class BookGroup(enum.StrEnum):
    GENERAL = "general"
    INSURANCE = "insurance"
    HISTORY = "history"
    IMMUNIZATIONS = "immunizations"
    VISITS = "visits"


QD4026 = "QĐ 4026/QĐ-BYT"
QD831_1 = "QĐ 831/QĐ-BYT, part 1"
QD831_2 = "QĐ 831/QĐ-BYT, part 2"
QD831_3 = "QĐ 831/QĐ-BYT, part 3"
QD831_4 = "QĐ 831/QĐ-BYT, part 4"
QD130_XML1 = "QĐ 130/QĐ-BYT, XML1"
QD130_XML2 = "QĐ 130/QĐ-BYT, XML2"
QD130_XML4 = "QĐ 130/QĐ-BYT, XML4"

ALL = frozenset(Audience)
CITIZEN_AND_CLINIC = frozenset({Audience.CITIZEN, Audience.CLINIC})


# --- The catalogue --------------------------------------------------------------

@dataclass(frozen=True)
class FieldRule:
    key: str
    label: str
    read: Callable[[Any], Any]
    format: Formatter
    audiences: frozenset[Audience]
    legal_source: str
    missing: str = N_("Not recorded")
    our_reading: bool = False
    # The demographic field whose provenance marks this value (self-declared, ...).
    provenance_field: str | None = None
    # False: a row that only exists when a source gave a value (no "Not recorded" line).
    shown_when_missing: bool = True


@dataclass(frozen=True)
class EntryRule:
    """A list inside a section: each entry is one allergy, one dose, one visit..."""

    key: str
    label: str
    title: Callable[[Any, BookFormat], str]
    fields: tuple[FieldRule, ...]
    empty: str
    legal_source: str
    children: tuple[EntryRule, ...] = ()

    @property
    def audiences(self) -> frozenset[Audience]:
        return frozenset().union(*(f.audiences for f in self.fields))


@dataclass(frozen=True)
class SectionRule:
    group: BookGroup
    title: str
    legal_source: str
    fields: tuple[FieldRule, ...] = ()
    entries: tuple[EntryRule, ...] = ()
    # Shown to a clinic only as far as the citizen's consent allows (core.consent).
    consent_gated: bool = False


def _f(key: str, label: str, read: Callable[[Any], Any], fmt: Formatter = as_text, *,
       audiences: frozenset[Audience] = CITIZEN_AND_CLINIC, source: str,
       missing: str = N_("Not recorded"), our_reading: bool = False,
       provenance: str | None = None, shown_when_missing: bool = True) -> FieldRule:
    return FieldRule(key, label, read, fmt, audiences, source, missing, our_reading, provenance,
                     shown_when_missing)


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def _emergency_contact(row: Any) -> str | None:
    """`Nguyễn Văn An (con trai), 0912 345 678`: one line, as a receptionist would dial it."""
    if not row.emergency_contact_name:
        return None
    relation = f" ({row.emergency_contact_relation})" if row.emergency_contact_relation else ""
    phone = f", {phone_national(row.emergency_contact_phone)}" if row.emergency_contact_phone else ""
    return f"{row.emergency_contact_name}{relation}{phone}"


def _citizen(name: str, key: str, label: str, fmt: Formatter = as_text, **kw: Any) -> FieldRule:
    return _f(key, label, _attr(name), fmt, provenance=name, **kw)


GENERAL = SectionRule(
    BookGroup.GENERAL,
    N_("General information"),
    f"{QD4026}; {QD831_1}",
    fields=(
        _citizen("full_name", "general.full_name", N_("Full name"),
                 audiences=ALL, source=QD4026),
        _citizen("personal_id", "general.personal_id", N_("Personal ID number"),
                 source=QD4026),
        _citizen("birth_date", "general.birth_date", N_("Date of birth"), as_partial_date,
                 audiences=ALL, source=QD4026),
        _citizen("sex", "general.sex", N_("Sex"), as_sex, audiences=ALL, source=QD4026),
        _citizen("ethnicity_code", "general.ethnicity", N_("Ethnicity"), as_ethnicity,
                 audiences=ALL, source=QD831_1),
        _citizen("nationality", "general.nationality", N_("Nationality"), as_nationality,
                 audiences=ALL, source=QD831_1),
        _citizen("occupation", "general.occupation", N_("Occupation"),
                 audiences=ALL, source=QD831_1),
        # Phone and email are contact data a volunteer has no need to read.
        _citizen("phone", "general.phone", N_("Phone"), as_phone, source=QD831_1),
        # QĐ 130, XML1 DIEN_THOAI: the number a clinic wrote down, often a relative's; shown for
        # what it is, never used to verify anyone (core.records.provenance.may_supply).
        _citizen("clinic_phone", "general.clinic_phone", N_("Contact phone recorded by a clinic"),
                 as_phone, source=QD130_XML1, our_reading=True, shown_when_missing=False),
        _citizen("email", "general.email", N_("Email"), source=QD831_1, our_reading=True),
        _citizen("ward_code", "general.ward", N_("Ward or commune"), as_ward,
                 audiences=ALL, source=QD831_1),
        _citizen("street_address", "general.street_address", N_("Street address"),
                 audiences=ALL, source=QD831_1),
        _citizen("status", "general.status", N_("Residence status"), labelled(STATUS_LABELS),
                 source=QD831_1, our_reading=True),
        _f("general.guardian", N_("Guardian"), _attr("guardian_name"),
           source=QD831_1, missing=N_("None"), our_reading=True, provenance="guardian_id"),
        _f("general.emergency_contact", N_("Emergency contact"), _emergency_contact, source=QD831_1,
           our_reading=True, provenance="emergency_contact_name"),
    ),
)

INSURANCE = SectionRule(
    BookGroup.INSURANCE,
    N_("Health insurance"),
    QD4026,
    fields=(
        _f("insurance.card_number", N_("Health insurance card"), _attr("number"),
           source=QD4026, missing=N_("No card on record")),
        _f("insurance.social_insurance_number", N_("Social-insurance number"),
           _attr("social_insurance_number"), source=QD4026, our_reading=True),
        _f("insurance.benefit_level", N_("Benefit level"), _attr("benefit_level"),
           as_benefit_level, source=QD4026),
        _f("insurance.valid_from", N_("Valid from"), _attr("valid_from"), as_date, source=QD4026),
        _f("insurance.valid_to", N_("Valid to"), _attr("valid_to"), as_date, source=QD4026),
        _f("insurance.registered_facility", N_("Registered primary-care facility"),
           _attr("registered_facility_code"), as_facility, source=QD4026),
    ),
)

HISTORY = SectionRule(
    BookGroup.HISTORY,
    N_("Medical history and allergies"),
    f"{QD4026}; {QD831_2}",
    consent_gated=True,
    fields=(
        _citizen("blood_group", "history.blood_group", N_("Blood group"), as_blood_group,
                 source=QD831_2),
    ),
    entries=(
        EntryRule(
            "history.allergies", N_("Allergies"),
            lambda row, fmt: row.substance,
            (
                _f("history.allergies.kind", N_("Kind"), _attr("kind"),
                   labelled(ALLERGY_KIND_LABELS), source=QD831_2),
                _f("history.allergies.substance", N_("Substance"), _attr("substance"),
                   source=QD831_2),
                _f("history.allergies.reaction", N_("Reaction"), _attr("reaction"),
                   source=QD831_2),
            ),
            N_("No allergies on record."), QD831_2,
        ),
        EntryRule(
            "history.conditions", N_("Illnesses"),
            lambda row, fmt: row.name,
            (
                _f("history.conditions.icd10", N_("ICD-10 code"), _attr("icd10_code"),
                   source=QD831_2),
                _f("history.conditions.name", N_("Illness"), _attr("name"), source=QD831_2),
                _f("history.conditions.since", N_("Since"), _attr("since"), as_partial_date,
                   source=QD831_2),
                _f("history.conditions.chronic", N_("Course"), _attr("chronic"),
                   labelled(CHRONIC_LABELS), source=QD831_2),
            ),
            N_("No illnesses on record."), QD831_2,
        ),
        EntryRule(
            "history.disabilities", N_("Disabilities"),
            lambda row, fmt: row.description,
            (
                _f("history.disabilities.description", N_("Disability"), _attr("description"),
                   source=QD831_2),
                _f("history.disabilities.since", N_("Since"), _attr("since"), as_partial_date,
                   source=QD831_2),
            ),
            N_("No disabilities on record."), QD831_2,
        ),
        EntryRule(
            "history.surgeries", N_("Surgeries"),
            lambda row, fmt: row.name,
            (
                _f("history.surgeries.name", N_("Surgery"), _attr("name"), source=QD831_2),
                _f("history.surgeries.date", N_("Date"), _attr("performed_on"),
                   as_partial_date, source=QD831_2),
                _f("history.surgeries.facility", N_("Facility"), _attr("facility_code"),
                   as_facility, source=QD831_2),
            ),
            N_("No surgeries on record."), QD831_2,
        ),
        EntryRule(
            "history.family", N_("Family history"),
            lambda row, fmt: f"{row.relation}: {row.condition}",
            (
                _f("history.family.relation", N_("Relative"), _attr("relation"), source=QD831_2),
                _f("history.family.condition", N_("Illness"), _attr("condition"),
                   source=QD831_2),
                _f("history.family.icd10", N_("ICD-10 code"), _attr("icd10_code"),
                   source=QD831_2),
            ),
            N_("No family history on record."), QD831_2,
        ),
        EntryRule(
            "history.risk_factors", N_("Risk factors"),
            lambda row, fmt: labelled(RISK_FACTOR_LABELS)(row.factor, fmt),
            (
                _f("history.risk_factors.factor", N_("Risk factor"), _attr("factor"),
                   labelled(RISK_FACTOR_LABELS), source=QD831_2),
                _f("history.risk_factors.detail", N_("Detail"), _attr("detail"),
                   source=QD831_2),
            ),
            N_("No risk factors on record."), QD831_2,
        ),
    ),
)

IMMUNIZATIONS = SectionRule(
    BookGroup.IMMUNIZATIONS,
    N_("Immunizations"),
    f"{QD4026}; {QD831_3}",
    consent_gated=True,
    entries=(
        EntryRule(
            "immunizations.doses", N_("Vaccine doses"),
            lambda row, fmt: fmt.t.text(N_("{vaccine}, dose {dose}"),
                                        vaccine=row.vaccine, dose=row.dose_number),
            (
                _f("immunizations.vaccine", N_("Vaccine"), _attr("vaccine"), source=QD831_3),
                _f("immunizations.antigens", N_("Protects against"), _attr("antigens"),
                   source=QD831_3),
                _f("immunizations.dose", N_("Dose"), _attr("dose_number"), source=QD831_3),
                _f("immunizations.date", N_("Date"), _attr("given_on"), as_date, source=QD831_3),
                _f("immunizations.facility", N_("Place"), _attr("facility_code"), as_facility,
                   source=QD831_3),
                _f("immunizations.lot", N_("Lot number"), _attr("lot"), source=QD831_3),
                _f("immunizations.programme", N_("Programme"), _attr("programme"),
                   labelled(PROGRAMME_LABELS), source=QD831_3),
            ),
            N_("No immunizations on record."), QD831_3,
        ),
    ),
)

PRESCRIPTIONS = EntryRule(
    "visits.prescriptions", N_("Prescription"),
    lambda row, fmt: " ".join(p for p in (row.drug, row.strength) if p),
    (
        _f("visits.prescriptions.drug", N_("Drug"), _attr("drug"), source=QD130_XML2),
        _f("visits.prescriptions.strength", N_("Strength"), _attr("strength"), source=QD130_XML2),
        _f("visits.prescriptions.route", N_("Route"), _attr("route"), source=QD130_XML2),
        _f("visits.prescriptions.dose", N_("Dosage"), _attr("dose"), source=QD130_XML2),
        _f("visits.prescriptions.instructions", N_("How to take"), _attr("instructions"),
           source=QD130_XML2),
        _f("visits.prescriptions.quantity", N_("Quantity"),
           lambda row: None if row.quantity is None else (row.quantity, row.unit),
           lambda value, fmt: " ".join(p for p in (as_number(value[0], fmt), value[1]) if p),
           source=QD130_XML2),
    ),
    N_("No prescription for this visit."), QD130_XML2,
)

TEST_RESULTS = EntryRule(
    "visits.test_results", N_("Test results"),
    lambda row, fmt: row.name,
    (
        _f("visits.test_results.name", N_("Test"), _attr("name"), source=QD130_XML4),
        _f("visits.test_results.value", N_("Result"),
           lambda row: None if row.value is None else (row.value, row.unit),
           lambda value, fmt: " ".join(p for p in value if p), source=QD130_XML4),
        _f("visits.test_results.description", N_("Description"), _attr("description"),
           source=QD130_XML4),
        _f("visits.test_results.conclusion", N_("Conclusion"), _attr("conclusion"),
           source=QD130_XML4),
        _f("visits.test_results.time", N_("Result time"), _attr("resulted_at"), as_moment,
           source=QD130_XML4),
    ),
    N_("No test results for this visit."), QD130_XML4,
)

VISITS = SectionRule(
    BookGroup.VISITS,
    N_("Visit history"),
    f"{QD4026}; {QD831_4}; {QD130_XML1}",
    consent_gated=True,
    entries=(
        EntryRule(
            "visits.visits", N_("Visits"),
            lambda row, fmt: f"{fmt.t.date(row.admitted_at.astimezone(TIMEZONE).date())} · "
                             f"{fmt.facility_names.get(row.facility_code, row.facility_code)}",
            (
                _f("visits.facility", N_("Facility"), _attr("facility_code"), as_facility,
                   source=QD130_XML1),
                _f("visits.kind", N_("Kind of visit"), _attr("kind"), labelled(VISIT_KIND_LABELS),
                   source=QD130_XML1, our_reading=True),
                _f("visits.admitted_at", N_("Arrived"), _attr("admitted_at"), as_moment,
                   source=QD130_XML1),
                _f("visits.discharged_at", N_("Left"), _attr("discharged_at"), as_moment,
                   source=QD130_XML1),
                _f("visits.reason", N_("Reason for the visit"), _attr("reason"),
                   source=QD130_XML1),
                _f("visits.diagnosis", N_("Diagnosis"), _attr("diagnosis"), source=QD130_XML1),
                _f("visits.primary_icd10", N_("Main ICD-10 code"), _attr("primary_icd10"),
                   source=QD130_XML1),
                _f("visits.secondary_icd10", N_("Other ICD-10 codes"),
                   lambda row: ", ".join(row.secondary_icd10.split(";"))
                   if row.secondary_icd10 else None,
                   source=QD130_XML1, missing=N_("None")),
                _f("visits.treatment_result", N_("Treatment result"), _attr("treatment_result"),
                   labelled(TREATMENT_RESULT_LABELS), source=QD130_XML1),
                _f("visits.follow_up", N_("Re-examination appointment"), _attr("follow_up_on"),
                   as_date, source=QD130_XML1, missing=N_("None")),
            ),
            N_("No visits on record."), QD831_4,
            children=(PRESCRIPTIONS, TEST_RESULTS),
        ),
    ),
)


CATALOGUE: tuple[SectionRule, ...] = (GENERAL, INSURANCE, HISTORY, IMMUNIZATIONS, VISITS)
SECTIONS: dict[BookGroup, SectionRule] = {s.group: s for s in CATALOGUE}


def iter_fields(rule: SectionRule | EntryRule) -> list[FieldRule]:
    """Every field of a section or entry, nested lists included."""
    fields = list(rule.fields)
    for entry in rule.entries if isinstance(rule, SectionRule) else rule.children:
        fields.extend(iter_fields(entry))
    return fields


def all_field_keys() -> frozenset[str]:
    return frozenset(f.key for section in CATALOGUE for f in iter_fields(section))
