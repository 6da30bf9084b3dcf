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
    as_appointments,
    as_benefit_level,
    as_blood_group,
    as_date,
    as_day,
    as_ethnicity,
    as_facility,
    as_icd10,
    as_icd10_list,
    as_moment,
    as_nationality,
    as_partial_date,
    as_phone,
    as_quantity,
    as_route,
    as_sex,
    as_text,
    as_valid_to,
    as_ward,
    as_weight,
    labelled,
)
from core.records.history import ALLERGY_KIND_LABELS, RISK_FACTOR_LABELS
from core.records.immunization import PROGRAMME_LABELS
from core.records.visit import follow_up_days
from core.reference import icd10
from core.reference.qd130 import (
    ACCIDENT_LABELS,
    ADMITTED_KINDS,
    AREA_LABELS,
    BENEFICIARY_GROUP_LABELS,
    CARE_KIND_LABELS,
    COLLECTED_KINDS,
    MEDICINE_UNTIL_KINDS,
    NO_ACCIDENT,
    SERVICE_GROUP_LABELS,
    STAY_KINDS,
    TREATMENT_RESULT_LABELS,
    Paraclinical,
)
from core.text import fold
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
QD130_XML3 = "QĐ 130/QĐ-BYT, XML3"
QD130_XML4 = "QĐ 130/QĐ-BYT, XML4"
REGISTER = "population and health-insurance register"

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
    # The element or column the value comes from, for the book's documentation.
    element: str = ""
    # Only for the rows this holds for (a date whose meaning depends on the kind of visit).
    applies: Callable[[Any], bool] | None = None
    # The value is the entry's title: kept in the catalogue, never repeated as a row below it.
    in_title: bool = False


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
       provenance: str | None = None, shown_when_missing: bool = True, element: str = "",
       applies: Callable[[Any], bool] | None = None, in_title: bool = False) -> FieldRule:
    return FieldRule(key, label, read, fmt, audiences, source, missing, our_reading, provenance,
                     shown_when_missing, element, applies, in_title)


def _attr(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def emergency_contact(row: Any, phone_shown: Callable[[str], str] = phone_national) -> str | None:
    """`Nguyễn Văn An (con trai), 0912 345 678`: one line, as a receptionist would dial it
    (`phone_shown`: how a list that masks numbers shows it)."""
    if not row.emergency_contact_name:
        return None
    relation = f" ({row.emergency_contact_relation})" if row.emergency_contact_relation else ""
    phone = f", {phone_shown(row.emergency_contact_phone)}" if row.emergency_contact_phone else ""
    return f"{row.emergency_contact_name}{relation}{phone}"


def _citizen(name: str, key: str, label: str, fmt: Formatter = as_text, **kw: Any) -> FieldRule:
    return _f(key, label, _attr(name), fmt, provenance=name, **kw)


def _kind_in(kinds: frozenset[str]) -> Callable[[Any], bool]:
    return lambda row: row.kind_code in kinds


# QĐ 130, XML1 NGAY_VAO/NGAY_RA mean different things by MA_LOAI_KCB (QĐ 4750): admitted and
# discharged for inpatient care; the start of treatment and the last day the medicine covers
# for outpatient treatment and refills; a collection day for a refill without examination;
# arrival and end for an examination and everything else. Our labels for the standard's words.
_EXAMINATION_KINDS = frozenset(CARE_KIND_LABELS) - ADMITTED_KINDS - STAY_KINDS \
    - MEDICINE_UNTIL_KINDS


def _examination_like(row: Any) -> bool:
    return row.kind_code is None or row.kind_code in _EXAMINATION_KINDS \
        or row.kind_code not in CARE_KIND_LABELS


def _treatment_began(row: Any) -> bool:
    return row.kind_code in (MEDICINE_UNTIL_KINDS - COLLECTED_KINDS) | STAY_KINDS


def _accident(row: Any) -> str | None:
    return None if row.accident_code in (None, NO_ACCIDENT) else row.accident_code


def _codes(stored: str | None) -> list[str] | None:
    """MA_BENH_KT as stored: `;`-separated ICD-10 codes."""
    return [c for c in (stored or "").split(";") if c] or None


def _diagnosis_apart(row: Any) -> bool:
    """CHAN_DOAN_RV is shown on its own line unless it only says what MA_BENH_CHINH's name
    says (the main illness line then reads "name (code)"; a phone screen is short)."""
    name = icd10.name_of(row.primary_icd10) if row.primary_icd10 else None
    return not (name and row.diagnosis and fold(name) == fold(row.diagnosis))


def _lines(*parts: Any) -> Callable[[Any], Any]:
    """A value made of several columns, or None when the first is missing."""
    def read(row: Any) -> Any:
        values = tuple(getattr(row, p) for p in parts)
        return None if values[0] is None else values
    return read


GENERAL = SectionRule(
    BookGroup.GENERAL,
    N_("Administrative information"),
    f"{QD4026}; {QD831_1}",
    fields=(
        _citizen("full_name", "general.full_name", N_("Full name"),
                 audiences=ALL, source=QD4026, element="roster ho_ten; XML1 HO_TEN"),
        _citizen("personal_id", "general.personal_id", N_("Personal ID number"),
                 source=QD4026, element="roster so_dinh_danh"),
        _citizen("birth_date", "general.birth_date", N_("Date of birth"), as_partial_date,
                 audiences=ALL, source=QD4026, element="roster ngay_sinh"),
        _citizen("sex", "general.sex", N_("Sex"), as_sex, audiences=ALL, source=QD4026,
                 element="roster gioi_tinh"),
        _citizen("ethnicity_code", "general.ethnicity", N_("Ethnicity"), as_ethnicity,
                 audiences=ALL, source=QD831_1, element="roster dan_toc; XML1 MA_DANTOC"),
        _citizen("nationality", "general.nationality", N_("Nationality"), as_nationality,
                 audiences=ALL, source=QD831_1, element="roster quoc_tich"),
        _citizen("occupation", "general.occupation", N_("Occupation"),
                 audiences=ALL, source=QD831_1, element="roster nghe_nghiep"),
        # Phone and email are contact data a volunteer has no need to read.
        _citizen("phone", "general.phone", N_("Phone"), as_phone, source=QD831_1,
                 element="roster dien_thoai"),
        # QĐ 130, XML1 DIEN_THOAI: the number a clinic wrote down, often a relative's; shown for
        # what it is, never used to verify anyone (core.records.provenance.may_supply).
        _citizen("clinic_phone", "general.clinic_phone", N_("Contact phone recorded by a clinic"),
                 as_phone, source=QD130_XML1, our_reading=True, shown_when_missing=False,
                 element="XML1 DIEN_THOAI"),
        _citizen("email", "general.email", N_("Email"), source=QD831_1, our_reading=True,
                 element="roster email"),
        _citizen("ward_code", "general.ward", N_("Ward or commune"), as_ward,
                 audiences=ALL, source=QD831_1, element="roster ma_xa; XML1 MAXA_CU_TRU"),
        _citizen("street_address", "general.street_address", N_("Street address"),
                 audiences=ALL, source=QD831_1, element="roster dia_chi"),
        _citizen("status", "general.status", N_("Residence status"), labelled(STATUS_LABELS),
                 source=QD831_1, our_reading=True, element="roster trang_thai"),
        _f("general.guardian", N_("Guardian"), _attr("guardian_name"),
           source=QD831_1, missing=N_("None"), our_reading=True, provenance="guardian_id",
           element="roster so_dinh_danh_nguoi_giam_ho"),
        # A child's guardian's number, from the guardian's own record: whom a clinic calls about
        # the child, and what a guardian checks is right (QĐ 831 part 1 asks for a contact person).
        _f("general.guardian_phone", N_("Guardian's phone"), _attr("guardian_phone"), as_phone,
           source=QD831_1, our_reading=True, provenance="guardian_id", shown_when_missing=False,
           element="the guardian's roster dien_thoai"),
        _f("general.emergency_contact", N_("Emergency contact"), emergency_contact, source=QD831_1,
           our_reading=True, provenance="emergency_contact_name",
           element="declared by the citizen (/update)"),
    ),
)

INSURANCE = SectionRule(
    BookGroup.INSURANCE,
    N_("Health insurance"),
    QD4026,
    fields=(
        _f("insurance.card_number", N_("Health insurance card number"), _attr("number"),
           source=QD4026, missing=N_("No card on record"), element="roster ma_the_bhyt"),
        # The card's first two characters (QĐ 1351/QĐ-BHXH's list of beneficiary groups).
        _f("insurance.beneficiary_group", N_("Beneficiary group"), _attr("beneficiary_group"),
           labelled(BENEFICIARY_GROUP_LABELS), source=QD4026, our_reading=True,
           element="roster ma_the_bhyt, characters 1-2"),
        _f("insurance.benefit_level", N_("Benefit level"), _attr("benefit_level"),
           as_benefit_level, source=QD4026, element="roster ma_the_bhyt, character 3"),
        _f("insurance.social_insurance_number", N_("Social-insurance number"),
           _attr("social_insurance_number"), source=QD4026, our_reading=True,
           element="roster ma_the_bhyt, characters 6-15"),
        _f("insurance.valid_from", N_("Valid from"), _attr("valid_from"), as_date, source=QD4026,
           element="roster gt_the_tu"),
        _f("insurance.valid_to", N_("Valid to"), _attr("valid_to"), as_valid_to, source=QD4026,
           element="roster gt_the_den"),
        _f("insurance.registered_facility", N_("Registered primary-care facility"),
           _attr("registered_facility_code"), as_facility, source=QD4026, element="roster ma_dkbd"),
        # What the newest clinic file paid under this card says of it (QĐ 130, XML1).
        _f("insurance.five_years", N_("Five consecutive years of insurance from"),
           _attr("card_five_years_from"), as_date, source=QD130_XML1, shown_when_missing=False,
           element="XML1 NAM_NAM_LIEN_TUC"),
        _f("insurance.copay_exempt", N_("Exempt from co-payment from"),
           _attr("card_copay_exempt_from"), as_date, source=QD130_XML1,
           shown_when_missing=False, element="XML1 NGAY_MIEN_CCT"),
        _f("insurance.area", N_("Area of residence"), _attr("card_area_code"),
           labelled(AREA_LABELS), source=QD130_XML1, shown_when_missing=False,
           element="XML1 MA_KHUVUC"),
    ),
)

HISTORY = SectionRule(
    BookGroup.HISTORY,
    N_("Medical history and allergies"),
    f"{QD4026}; {QD831_2}",
    consent_gated=True,
    fields=(
        _citizen("blood_group", "history.blood_group", N_("Blood group"), as_blood_group,
                 source=QD831_2, element="roster nhom_mau; XML1 NHOM_MAU"),
    ),
    entries=(
        EntryRule(
            "history.allergies", N_("Allergies"),
            lambda row, fmt: row.substance,
            (
                _f("history.allergies.substance", N_("Substance"), _attr("substance"),
                   source=QD831_2, in_title=True, element="ward station: substance"),
                _f("history.allergies.kind", N_("Kind"), _attr("kind"),
                   labelled(ALLERGY_KIND_LABELS), source=QD831_2, element="ward station: kind"),
                _f("history.allergies.reaction", N_("Reaction"), _attr("reaction"),
                   source=QD831_2, element="ward station: reaction"),
            ),
            N_("No allergies on record."), QD831_2,
        ),
        EntryRule(
            "history.conditions", N_("Illnesses"),
            lambda row, fmt: row.name,
            (
                _f("history.conditions.name", N_("Illness"), _attr("name"), source=QD831_2,
                   in_title=True, element="ward station: name; XML1 MA_BENH_CHINH/MA_BENH_KT"),
                _f("history.conditions.icd10", N_("ICD-10 code"), _attr("icd10_code"),
                   source=QD831_2, element="ward station: icd10; XML1 MA_BENH_CHINH/MA_BENH_KT"),
                _f("history.conditions.since", N_("Since"), _attr("since"), as_partial_date,
                   source=QD831_2, element="ward station: since; XML1 NGAY_VAO"),
                _f("history.conditions.chronic", N_("Status"), _attr("chronic"),
                   labelled(CHRONIC_LABELS), source=QD831_2,
                   element="ward station: chronic; ICD-10 chronic categories"),
            ),
            N_("No illnesses on record."), QD831_2,
        ),
        EntryRule(
            "history.disabilities", N_("Disabilities"),
            lambda row, fmt: row.description,
            (
                _f("history.disabilities.description", N_("Disability"), _attr("description"),
                   source=QD831_2, in_title=True, element="ward station: description"),
                _f("history.disabilities.since", N_("Since"), _attr("since"), as_partial_date,
                   source=QD831_2, element="ward station: since"),
            ),
            N_("No disabilities on record."), QD831_2,
        ),
        EntryRule(
            "history.surgeries", N_("Surgeries"),
            lambda row, fmt: row.name,
            (
                _f("history.surgeries.name", N_("Surgery"), _attr("name"), source=QD831_2,
                   in_title=True, element="ward station: name"),
                _f("history.surgeries.date", N_("Date"), _attr("performed_on"),
                   as_partial_date, source=QD831_2, element="ward station: performed_on"),
                _f("history.surgeries.facility", N_("Facility"), _attr("facility_code"),
                   as_facility, source=QD831_2, element="ward station: facility"),
            ),
            N_("No surgeries on record."), QD831_2,
        ),
        EntryRule(
            "history.family", N_("Family history"),
            lambda row, fmt: f"{row.relation}: {row.condition}",
            (
                _f("history.family.relation", N_("Relative"), _attr("relation"), source=QD831_2,
                   in_title=True, element="ward station: relation"),
                _f("history.family.condition", N_("Illness"), _attr("condition"),
                   source=QD831_2, in_title=True, element="ward station: condition"),
                _f("history.family.icd10", N_("ICD-10 code"), _attr("icd10_code"),
                   source=QD831_2, element="ward station: icd10"),
            ),
            N_("No family history on record."), QD831_2,
        ),
        EntryRule(
            "history.risk_factors", N_("Risk factors"),
            lambda row, fmt: labelled(RISK_FACTOR_LABELS)(row.factor, fmt),
            (
                _f("history.risk_factors.factor", N_("Risk factor"), _attr("factor"),
                   labelled(RISK_FACTOR_LABELS), source=QD831_2, in_title=True,
                   element="ward station: factor"),
                _f("history.risk_factors.detail", N_("Detail"), _attr("detail"),
                   source=QD831_2, element="ward station: detail"),
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
                _f("immunizations.vaccine", N_("Vaccine"), _attr("vaccine"), source=QD831_3,
                   in_title=True, element="registry vaccine"),
                _f("immunizations.dose", N_("Dose"), _attr("dose_number"), source=QD831_3,
                   in_title=True, element="registry dose_number"),
                _f("immunizations.antigens", N_("Protects against"), _attr("antigens"),
                   source=QD831_3, element="vaccine reference (core/reference/vaccines.py)"),
                _f("immunizations.date", N_("Date"), _attr("given_on"), as_date, source=QD831_3,
                   element="registry given_on"),
                _f("immunizations.facility", N_("Place"), _attr("facility_code"), as_facility,
                   source=QD831_3, element="registry facility_code"),
                _f("immunizations.lot", N_("Lot number"), _attr("lot"), source=QD831_3,
                   element="registry lot"),
                _f("immunizations.programme", N_("Programme"), _attr("programme"),
                   labelled(PROGRAMME_LABELS), source=QD831_3, element="registry programme"),
            ),
            N_("No immunizations on record."), QD831_3,
        ),
    ),
)

# QĐ 130, XML2 is the detail of medicines used or dispensed at the visit, not a prescription.
MEDICINES = EntryRule(
    "visits.medicines", N_("Medicines used or dispensed"),
    lambda row, fmt: " ".join(p for p in (row.drug, row.strength) if p),
    (
        _f("visits.medicines.drug", N_("Medicine"), _attr("drug"), source=QD130_XML2,
           in_title=True, element="XML2 TEN_THUOC"),
        _f("visits.medicines.strength", N_("Strength"), _attr("strength"), source=QD130_XML2,
           in_title=True, element="XML2 HAM_LUONG"),
        _f("visits.medicines.route", N_("Route"), _attr("route"), as_route, source=QD130_XML2,
           element="XML2 DUONG_DUNG"),
        _f("visits.medicines.dose", N_("Dosage"), _attr("dose"), source=QD130_XML2,
           element="XML2 LIEU_DUNG"),
        _f("visits.medicines.instructions", N_("How to take"), _attr("instructions"),
           source=QD130_XML2, element="XML2 CACH_DUNG"),
        _f("visits.medicines.quantity", N_("Quantity"), _lines("quantity", "unit"), as_quantity,
           source=QD130_XML2, element="XML2 SO_LUONG, DON_VI_TINH"),
    ),
    N_("No medicines for this visit."), QD130_XML2,
)

SERVICES = EntryRule(
    "visits.services", N_("Services and supplies"),
    lambda row, fmt: row.name,
    (
        _f("visits.services.name", N_("Service"), _attr("name"), source=QD130_XML3,
           in_title=True, element="XML3 TEN_DICH_VU, else TEN_VAT_TU"),
        _f("visits.services.group", N_("Group"), _attr("group_code"),
           labelled(SERVICE_GROUP_LABELS), source=QD130_XML3, element="XML3 MA_NHOM"),
        _f("visits.services.quantity", N_("Quantity"), _lines("quantity", "unit"), as_quantity,
           source=QD130_XML3, element="XML3 SO_LUONG, DON_VI_TINH"),
        _f("visits.services.time", N_("Done at"), _attr("performed_at"), as_moment,
           source=QD130_XML3, element="XML3 NGAY_TH_YL, else NGAY_YL"),
    ),
    N_("No services for this visit."), QD130_XML3,
)


def _results(kind: str, label: str, empty: str) -> EntryRule:
    """XML4 results under one heading. QĐ 130's XML4 carries no reference range of its
    own: a range or a reading the clinic writes comes in MO_TA and is shown as written."""
    key = f"visits.results.{kind}"
    return EntryRule(
        key, label,
        lambda row, fmt: row.name,
        (
            _f(f"{key}.name", N_("Indicator"), _attr("name"), source=QD130_XML4, in_title=True,
               element="XML4 TEN_CHI_SO"),
            _f(f"{key}.value", N_("Result"), _lines("value", "unit"),
               lambda value, fmt: " ".join(p for p in value if p), source=QD130_XML4,
               element="XML4 GIA_TRI, DON_VI_DO"),
            _f(f"{key}.description", N_("Description"), _attr("description"),
               source=QD130_XML4, element="XML4 MO_TA"),
            _f(f"{key}.conclusion", N_("Conclusion"), _attr("conclusion"),
               source=QD130_XML4, element="XML4 KET_LUAN"),
            _f(f"{key}.time", N_("Result time"), _attr("resulted_at"), as_moment,
               source=QD130_XML4, element="XML4 NGAY_KQ"),
        ),
        empty, QD130_XML4,
    )


RESULTS = (
    _results(Paraclinical.LABORATORY, N_("Laboratory tests"),
             N_("No laboratory tests for this visit.")),
    _results(Paraclinical.IMAGING, N_("Imaging"), N_("No imaging for this visit.")),
    _results(Paraclinical.FUNCTION, N_("Function tests"), N_("No function tests for this visit.")),
    _results(Paraclinical.OTHER, N_("Other paraclinical results"),
             N_("No other paraclinical results for this visit.")),
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
                   source=QD130_XML1, in_title=True, element="XML1 MA_CSKCB"),
                _f("visits.kind", N_("Kind of care"), _attr("kind_code"),
                   labelled(CARE_KIND_LABELS), source=QD130_XML1, element="XML1 MA_LOAI_KCB"),
                _f("visits.arrived", N_("Arrived"), _attr("admitted_at"), as_moment,
                   source=QD130_XML1, applies=_examination_like, element="XML1 NGAY_VAO"),
                _f("visits.finished", N_("Finished"), _attr("discharged_at"), as_moment,
                   source=QD130_XML1, applies=_examination_like, element="XML1 NGAY_RA"),
                _f("visits.admitted", N_("Admitted"), _attr("admitted_at"), as_moment,
                   source=QD130_XML1, applies=_kind_in(ADMITTED_KINDS), element="XML1 NGAY_VAO"),
                _f("visits.discharged", N_("Discharged"), _attr("discharged_at"), as_moment,
                   source=QD130_XML1, applies=_kind_in(ADMITTED_KINDS), element="XML1 NGAY_RA"),
                _f("visits.treatment_began", N_("Treatment began"), _attr("admitted_at"),
                   as_moment, source=QD130_XML1, applies=_treatment_began,
                   element="XML1 NGAY_VAO"),
                _f("visits.treatment_ended", N_("Treatment ended"), _attr("discharged_at"),
                   as_moment, source=QD130_XML1, applies=_kind_in(STAY_KINDS),
                   element="XML1 NGAY_RA"),
                _f("visits.collected", N_("Medicine collected at"), _attr("admitted_at"), as_moment,
                   source=QD130_XML1, applies=_kind_in(COLLECTED_KINDS), element="XML1 NGAY_VAO"),
                _f("visits.medicine_until", N_("Medicine lasts until"), _attr("discharged_at"),
                   as_day, source=QD130_XML1, applies=_kind_in(MEDICINE_UNTIL_KINDS),
                   element="XML1 NGAY_RA"),
                _f("visits.reason", N_("Reason for the visit"), _attr("reason"),
                   source=QD130_XML1, element="XML1 LY_DO_VV"),
                _f("visits.admission_diagnosis", N_("Diagnosis on admission"),
                   _attr("admission_diagnosis"), source=QD130_XML1, element="XML1 CHAN_DOAN_VAO"),
                _f("visits.diagnosis", N_("Diagnosis"), _attr("diagnosis"), source=QD130_XML1,
                   applies=_diagnosis_apart, element="XML1 CHAN_DOAN_RV"),
                _f("visits.primary_icd10", N_("Main illness"), _attr("primary_icd10"), as_icd10,
                   source=QD130_XML1, element="XML1 MA_BENH_CHINH"),
                _f("visits.secondary_icd10", N_("Other illnesses"),
                   lambda row: _codes(row.secondary_icd10), as_icd10_list,
                   source=QD130_XML1, element="XML1 MA_BENH_KT"),
                _f("visits.accident", N_("Injury"), _accident, labelled(ACCIDENT_LABELS),
                   source=QD130_XML1, element="XML1 MA_TAI_NAN"),
                _f("visits.weight", N_("Weight"), _attr("weight_kg"), as_weight,
                   source=QD130_XML1, element="XML1 CAN_NANG"),
                _f("visits.treatment_method", N_("Treatment"), _attr("treatment_method"),
                   source=QD130_XML1, element="XML1 PP_DIEU_TRI"),
                _f("visits.treatment_result", N_("Treatment result"), _attr("treatment_result"),
                   labelled(TREATMENT_RESULT_LABELS), source=QD130_XML1,
                   element="XML1 KET_QUA_DTRI"),
                _f("visits.referred_from", N_("Referred from"), _attr("referred_from"),
                   as_facility, source=QD130_XML1, element="XML1 MA_NOI_DI"),
                _f("visits.referred_to", N_("Referred to"), _attr("referred_to"), as_facility,
                   source=QD130_XML1, element="XML1 MA_NOI_DEN"),
                _f("visits.follow_up", N_("Re-examination appointment"),
                   lambda row: follow_up_days(row.follow_up_dates) or None, as_appointments,
                   source=QD130_XML1, element="XML1 NGAY_TAI_KHAM"),
                _f("visits.note", N_("Note"), _attr("note"), source=QD130_XML1,
                   element="XML1 GHI_CHU"),
            ),
            N_("No visits on record."), QD831_4,
            children=(MEDICINES, SERVICES, *RESULTS),
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


def row_field_keys() -> frozenset[str]:
    """The fields that are rows of the book (the others are the titles of their entries)."""
    return frozenset(f.key for section in CATALOGUE for f in iter_fields(section)
                     if not f.in_title)
