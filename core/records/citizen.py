"""The citizen: demographic fields, each with its provenance, and their history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, ForeignKey, Index, SmallInteger, String, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from core.i18n import now_utc
from core.records.base import Base, BigIntPK, IntEnumType, str_enum
from core.values import BloodGroup, CitizenStatus, PartialDate, Sex


def _provenance() -> Mapped[int | None]:
    return mapped_column(BigIntPK, ForeignKey("provenance.id"), nullable=True)


# The demographic fields that carry their own provenance, in display order.
# `status` covers status and status_date; `guardian` is the guardian_id link.
DEMOGRAPHIC_FIELDS: tuple[str, ...] = (
    "personal_id",
    "full_name",
    "birth_date",
    "sex",
    "ethnicity_code",
    "nationality",
    "occupation",
    "phone",
    "clinic_phone",
    "email",
    "ward_code",
    "street_address",
    "blood_group",
    "status",
    "guardian_id",
    "emergency_contact_name",
    "emergency_contact_relation",
    "emergency_contact_phone",
)
# Fields no register holds: only the citizen (or a volunteer with them) declares them.
DECLARED_ONLY_FIELDS: tuple[str, ...] = (
    "emergency_contact_name", "emergency_contact_relation", "emergency_contact_phone")


# The residents a ward team serves (the worklist, completeness by ward): the active ones.
# Queries write the status as SQL text, not as a bound value, so that the partial index below
# serves them in every plan, a prepared statement's generic plan too.
_ACTIVE_SQL = f"status = '{CitizenStatus.ACTIVE.value}'"
_HAS_GUARDIAN_SQL = "guardian_id IS NOT NULL"
# The worklist pages through the ward's residents with gaps, most first, by this index alone.
_HAS_GAPS_SQL = f"{_ACTIVE_SQL} AND gaps > 0"
# Rows whose stored gap count is to be (re)made (core.records.completeness.recount): never
# counted or changed since; or a birthday ahead that changes what is asked of them. Two
# indexes, so a ward with nothing to count is told so by its index alone.
_UNCOUNTED_SQL = "gaps IS NULL"
_COUNT_DUE_SQL = "gaps_due IS NOT NULL"


class Citizen(Base):
    """A resident of Hanoi as the record knows them.

    Current values live on this row for fast reads; each has a `<field>_prov`
    pointing to where it came from, and `FieldChange` keeps every earlier value.
    """

    __tablename__ = "citizens"
    __table_args__ = (
        # A ward's active residents, in id order (the worklist, completeness by ward). The ward
        # is a short, repeating key: rows join its end of the index, cheap for a roster import.
        Index("ix_citizens_ward_active", "ward_code", "id",
              sqlite_where=text(_ACTIVE_SQL), postgresql_where=text(_ACTIVE_SQL)),
        # The guardian foreign key (ON DELETE SET NULL): a removed record finds its wards here,
        # not by reading every citizen. Only children have a guardian: the index stays small.
        Index("ix_citizens_guardian", "guardian_id",
              sqlite_where=text(_HAS_GUARDIAN_SQL), postgresql_where=text(_HAS_GUARDIAN_SQL)),
        Index("ix_citizens_uncounted", "ward_code",
              sqlite_where=text(_UNCOUNTED_SQL), postgresql_where=text(_UNCOUNTED_SQL)),
        Index("ix_citizens_count_due", "ward_code", "gaps_due",
              sqlite_where=text(_COUNT_DUE_SQL), postgresql_where=text(_COUNT_DUE_SQL)),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    personal_id: Mapped[str] = mapped_column(String(12), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[PartialDate]
    sex: Mapped[Sex | None] = mapped_column(IntEnumType(Sex))
    ethnicity_code: Mapped[str | None] = mapped_column(String(2))
    nationality: Mapped[str | None] = mapped_column(String(2))
    occupation: Mapped[str | None] = mapped_column(String(100))
    # No index on phone: each random-key index costs the million-row roster import
    # dearly; add one with the journey that looks people up by it.
    # The verifying phone: the number that proves who a person is (only trusted sources
    # supply it, core.records.provenance.may_supply).
    phone: Mapped[str | None] = mapped_column(String(12))
    # A contact number a clinic wrote in its QĐ 130 file (XML1 DIEN_THOAI): often a
    # relative's or a companion's, so it is kept apart and never verifies anyone.
    clinic_phone: Mapped[str | None] = mapped_column(String(12))
    email: Mapped[str | None] = mapped_column(String(254))
    ward_code: Mapped[str | None] = mapped_column(String(5))
    street_address: Mapped[str | None] = mapped_column(String(200))
    blood_group: Mapped[BloodGroup | None]
    status: Mapped[CitizenStatus] = mapped_column(
        str_enum(CitizenStatus), default=CitizenStatus.ACTIVE
    )
    status_date: Mapped[dt.date | None]
    guardian_id: Mapped[int | None] = mapped_column(
        BigIntPK, ForeignKey("citizens.id", ondelete="SET NULL"), nullable=True
    )
    # Whom to call in an emergency (QĐ 831/QĐ-BYT part 1 asks for a contact person).
    emergency_contact_name: Mapped[str | None] = mapped_column(String(100))
    emergency_contact_relation: Mapped[str | None] = mapped_column(String(50))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(12))

    personal_id_prov: Mapped[int | None] = _provenance()
    full_name_prov: Mapped[int | None] = _provenance()
    birth_date_prov: Mapped[int | None] = _provenance()
    sex_prov: Mapped[int | None] = _provenance()
    ethnicity_code_prov: Mapped[int | None] = _provenance()
    nationality_prov: Mapped[int | None] = _provenance()
    occupation_prov: Mapped[int | None] = _provenance()
    phone_prov: Mapped[int | None] = _provenance()
    clinic_phone_prov: Mapped[int | None] = _provenance()
    email_prov: Mapped[int | None] = _provenance()
    ward_code_prov: Mapped[int | None] = _provenance()
    street_address_prov: Mapped[int | None] = _provenance()
    blood_group_prov: Mapped[int | None] = _provenance()
    status_prov: Mapped[int | None] = _provenance()
    guardian_id_prov: Mapped[int | None] = _provenance()
    emergency_contact_name_prov: Mapped[int | None] = _provenance()
    emergency_contact_relation_prov: Mapped[int | None] = _provenance()
    emergency_contact_phone_prov: Mapped[int | None] = _provenance()

    # How many details the completeness rules find missing or invalid, kept with the row so a
    # ward's worklist reads a page, not the ward (core.records.completeness.recount). NULL: to
    # count; a database trigger (migration 0015) sets it so whenever a counted field changes.
    gaps: Mapped[int | None] = mapped_column(SmallInteger)
    # The day the count may change by itself (the 18th birthday: adults are asked other things).
    gaps_due: Mapped[dt.date | None]

    created_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[dt.datetime] = mapped_column(default=now_utc)


Index("ix_citizens_worklist", Citizen.ward_code, Citizen.gaps.desc(), Citizen.full_name, Citizen.id,
      sqlite_where=text(_HAS_GAPS_SQL), postgresql_where=text(_HAS_GAPS_SQL))


def active_only() -> ColumnElement[bool]:
    """Active residents only, in the form `ix_citizens_ward_active` is made for."""
    return Citizen.__table__.c.status == literal_column(f"'{CitizenStatus.ACTIVE.value}'")


class FieldChange(Base):
    """Append-only history of demographic values: what a field held before and why it changed."""

    __tablename__ = "citizen_field_changes"
    __table_args__ = (Index("ix_citizen_field_changes_citizen", "citizen_id", "field"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("citizens.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(254))
    old_provenance_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    new_value: Mapped[str | None] = mapped_column(String(254))
    new_provenance_id: Mapped[int] = mapped_column(BigIntPK, ForeignKey("provenance.id"))
    changed_at: Mapped[dt.datetime] = mapped_column(default=now_utc)
