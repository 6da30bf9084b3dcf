"""A clinic's QĐ 130 file can add visits and contact details, never decide who opens a book.

The phone a clinic writes (XML1 DIEN_THOAI) is often a relative's: it is kept as the
clinic's contact number and never verifies anyone. A visit whose HO_TEN or NGAY_SINH
disagrees with the resident its SO_CCCD names waits in quarantine for a person.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

from sqlalchemy import func, select, text

from core.consent.access import read_own_book
from core.db import Database
from core.i18n import TIMEZONE, translator
from core.identity.accounts import ChannelAccount
from core.migrate import downgrade, upgrade
from core.notices import CitizenNotice
from core.records.citizen import Citizen
from core.records.facility import Facility
from core.records.imports.qd130 import import_qd130_file
from core.records.imports.qd130_format import write_qd130_file
from core.records.operations import QuarantinedSubmission, QuarantineReason
from core.records.submission import VisitSubmission
from core.records.visit import Visit
from core.seed.demo import DemoResident
from core.values import PartialDate
from tests.telegram_world import TelegramWorld, verify
from tests.test_import_qd130 import AN, BINH, _count, _import, _roster, _visit

RELATIVE = "+84987000111"  # the daughter who brought her father to the clinic


async def _clinic_visit(world: TelegramWorld, resident: DemoResident, phone: str, key: str,
                        tmp_path: Path) -> None:
    async with world.db.sessions() as session:
        facility = await session.scalar(select(Facility.code).order_by(Facility.code).limit(1))
    arrived = dt.datetime.now(TIMEZONE).replace(microsecond=0) - dt.timedelta(days=1)
    visit = VisitSubmission(facility_code=facility, visit_key=key, admitted_at=arrived,
                            personal_id=resident.personal_id, full_name=resident.full_name,
                            birth_date=resident.birth_date, phone=phone, kind_code="01",
                            diagnosis="Viêm họng cấp", primary_icd10="J02.9")
    path = tmp_path / f"{key}.xml"
    write_qd130_file(path, facility, [visit], arrived)
    report = await import_qd130_file(world.db, path)
    assert report.created == 1, report.problems


async def _linked_to(world: TelegramWorld, citizen_id: int) -> list[str]:
    async with world.db.sessions() as session:
        return list((await session.scalars(select(ChannelAccount.external_id).where(
            ChannelAccount.citizen_id == citizen_id))).all())


async def test_relatives_phone_from_clinic_file_cannot_open_the_book(
        any_world: TelegramWorld, tmp_path: Path) -> None:
    world = any_world
    father = world.resident("no_phone")
    await _clinic_visit(world, father, RELATIVE, "LK-DAU-1", tmp_path)

    daughter = world.phone(first_name="Hương")
    await daughter.send("/start")
    await daughter.until(lambda m: "CCCD" in m.text)
    await daughter.send(father.personal_id)
    await daughter.until(lambda m: "ngày/tháng/năm" in m.text)
    await daughter.send(father.birth_date.display())  # she knows it, and holds the clinic's number
    answer = await daughter.until(lambda m: "trạm y tế" in m.text.lower())
    assert "chưa có số điện thoại" in answer.text and answer.reply_keyboard is None
    assert await _linked_to(world, father.citizen_id) == []

    # The father's book shows the number for what it is: a contact a clinic wrote down.
    book = await read_own_book(world.db, father.citizen_id, locale="vi")
    rows = {row.key: (row.label, row.text) for row in book.sections[0].rows}
    assert rows["general.clinic_phone"] == ("Số điện thoại liên hệ do cơ sở khám chữa bệnh ghi",
                                            "0987 000 111")
    assert rows["general.phone"][1] == "Chưa có thông tin"


async def test_a_later_clinic_file_cannot_take_a_book_from_its_owner(
        any_world: TelegramWorld, tmp_path: Path) -> None:
    world = any_world
    owner = world.resident("with_visits")
    owner_phone = world.phone()
    await verify(owner_phone, owner)
    intruder_number = "+84987000222"
    await _clinic_visit(world, owner, intruder_number, "LK-LATER-1", tmp_path)
    await _clinic_visit(world, owner, "+84987000333", "LK-LATER-2", tmp_path)  # and another one

    intruder = world.phone(first_name="Khách")
    await intruder.send("/start")
    await intruder.until(lambda m: "CCCD" in m.text)
    await intruder.send(owner.personal_id)
    await intruder.until(lambda m: "ngày/tháng/năm" in m.text)
    await intruder.send(owner.birth_date.display())
    await intruder.until(lambda m: m.reply_keyboard is not None)
    await intruder.share_contact(intruder_number.lstrip("+"))
    await intruder.until(lambda m: "không khớp" in m.text)

    assert await _linked_to(world, owner.citizen_id) == [str(owner_phone.user_id)]
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, owner.citizen_id)
    assert (citizen.phone, citizen.clinic_phone) == (owner.phone, "+84987000333")
    await owner_phone.send("/book")
    await owner_phone.until(lambda m: "👤 Thông tin hành chính" in m.labels)


# --- The release that moves numbers a clinic wrote out of the verifying column -------------


async def test_a_phone_a_clinic_filled_before_this_release_stops_verifying_and_its_account_is_told(
        db: Database) -> None:
    await downgrade(db, "0006")
    async with db.engine.begin() as connection:
        now = dt.datetime.now(dt.UTC)
        clinic = (await connection.execute(text(
            "INSERT INTO provenance (source, reference, received_at, verified) "
            "VALUES ('clinic_qd130', '01001/LK-1', :now, true) RETURNING id"), {"now": now})).scalar_one()
        register = (await connection.execute(text(
            "INSERT INTO provenance (source, reference, received_at, verified) "
            "VALUES ('population_db', 'roster #1', :now, true) RETURNING id"), {"now": now})).scalar_one()
        for personal_id, phone, prov in (("001090001234", "+84987000111", clinic),
                                         ("001190005678", "+84912345678", register)):
            await connection.execute(text(
                "INSERT INTO citizens (personal_id, full_name, birth_date, phone, phone_prov, status, "
                "created_at, updated_at) VALUES (:pid, 'Nguyễn Văn An', '1990-07-15', :phone, :prov, "
                "'active', :now, :now)"), {"pid": personal_id, "phone": phone, "prov": prov, "now": now})
        for external_id, personal_id in (("1001", "001090001234"), ("1002", "001190005678")):
            await connection.execute(text(
                "INSERT INTO channel_accounts (channel, external_id, citizen_id, linked_at, state_version, "
                "created_at, updated_at) SELECT 'telegram', :ext, id, :now, 0, :now, :now FROM citizens "
                "WHERE personal_id = :pid"), {"ext": external_id, "pid": personal_id, "now": now})

    await upgrade(db)

    async with db.sessions() as session:
        citizens = {c.personal_id: c for c in (await session.scalars(select(Citizen))).all()}
        links = dict((await session.execute(select(ChannelAccount.external_id,
                                                   ChannelAccount.citizen_id))).all())
        told = (await session.execute(select(CitizenNotice.account_id, CitizenNotice.kind))).all()
    moved, kept = citizens["001090001234"], citizens["001190005678"]
    assert (moved.phone, moved.clinic_phone) == (None, "+84987000111")
    assert moved.clinic_phone_prov is not None and moved.phone_prov is None
    assert (kept.phone, kept.clinic_phone) == ("+84912345678", None)
    assert links == {"1001": None, "1002": kept.id}
    async with db.sessions() as session:
        unlinked = await session.scalar(select(ChannelAccount.id).where(ChannelAccount.external_id == "1001"))
    assert told == [(unlinked, "link_ended_untrusted_phone")]


# --- A visit lands only in the book of the person it is about --------------------------------


async def test_a_visit_with_a_mistyped_id_naming_a_stranger_is_quarantined_not_attached(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    # An's visit, but the clinic typed Bình's personal ID.
    report = await _import(db, tmp_path, [_visit("LK-TYPO", personal_id=BINH, card_number=None)])

    assert (report.created, report.quarantined) == (0, 1)
    assert await _count(db, Visit) == 0
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert kept.reason is QuarantineReason.PERSON_MISMATCH
    assert kept.detail["msgid"].startswith("HO_TEN and NGAY_SINH both differ")
    rendered = "\n".join(report.render(translator("vi")))
    assert "HO_TEN" in rendered and "NGAY_SINH" in rendered
    for secret in (BINH, AN, "Nguyễn Văn An", "Trần Thị Bình", "15/07/1990"):
        assert secret not in rendered


async def test_a_name_written_in_capitals_without_diacritics_or_decomposed_still_matches(
        db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    decomposed = unicodedata.normalize("NFD", "Nguyễn  Văn An")
    report = await _import(db, tmp_path, [_visit("LK-CAPS", full_name="NGUYEN VAN AN"),
                                          _visit("LK-NFD", full_name=decomposed),
                                          _visit("LK-YEAR", birth_date=PartialDate(1990))])
    assert (report.created, report.quarantined) == (3, 0), report.problems


async def test_a_birth_date_that_alone_disagrees_is_named_as_the_reason(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    report = await _import(db, tmp_path, [_visit("LK-BORN", birth_date=PartialDate(1990, 7, 16))])
    assert report.quarantined == 1
    async with db.sessions() as session:
        kept = await session.scalar(select(QuarantinedSubmission))
    assert kept.detail["msgid"].startswith("NGAY_SINH differs")


async def test_a_visit_without_name_or_birth_date_waits_for_a_person(db: Database, tmp_path: Path) -> None:
    await _roster(db, tmp_path)
    report = await _import(db, tmp_path, [_visit("LK-NONAME", full_name=None),
                                          _visit("LK-NOBIRTH", birth_date=None)])
    assert (report.created, report.quarantined) == (0, 2)
    async with db.sessions() as session:
        reasons = (await session.scalars(select(QuarantinedSubmission.reason))).all()
        visits = await session.scalar(select(func.count()).select_from(Visit))
    assert set(reasons) == {QuarantineReason.PERSON_MISMATCH} and visits == 0
