"""The health station at its command line: the lists it reads and the corrections it approves.

Run as the station runs them (`python -m core corrections|pending ...`), on both databases.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from bot.flows.notices import notice_reply
from core.config import PROJECT_ROOT
from core.consent.access import read_own_book
from core.corrections.service import (
    CORRECTABLE,
    Refusal,
    Refused,
    file_request,
    list_requests,
    proposed_text,
)
from core.db import Database
from core.i18n import translator
from core.identity import accounts
from core.notices import CitizenNotice
from core.records.citizen import Citizen
from core.records.insurance import InsuranceCard
from core.records.provenance import Provenance, Source
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.staff.service import Staff
from core.values import BloodGroup
from core.volunteering.pending import propose
from tests.records import FULL_ID, make_full_record

# What the citizen types for each detail, and what the book then shows.
TYPED_AND_SHOWN = {
    "full_name": ("nguyễn văn bình", "Nguyễn Văn Bình"),
    "birth_date": ("1/2/1960", "01/02/1960"),
    "sex": ("Nữ", "Nữ"),
    "personal_id": ("001160004321", "001160004321"),
    "insurance_card": ("HT3010123456780", "HT3010123456780"),
}


def station(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": db.url, "PATH": "/usr/bin:/bin", "EHR_LANG": "vi"}
    if "EHR_SECRET_KEY" in os.environ:
        env["EHR_SECRET_KEY"] = os.environ["EHR_SECRET_KEY"]
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def _rows(book) -> dict[str, str]:
    return {row.key: row.text for section in book.sections for row in section.rows}


async def test_the_station_approves_every_detail_a_citizen_can_ask_to_correct_and_the_book_shows_it(
        db: Database) -> None:
    assert set(TYPED_AND_SHOWN) == set(CORRECTABLE)  # a new correctable detail needs its case here
    citizen_id = await make_full_record(db)
    ids = {}
    for field, (typed, _shown) in TYPED_AND_SHOWN.items():
        ids[field] = await file_request(db, citizen_id, field, proposed_text(field, typed),
                                        "Giấy tờ ghi khác", channel="telegram")

    listed = station(db, "corrections", "list")
    assert listed.returncode == 0, listed.stderr
    # The resident by short name and masked ID; values as the book shows them; no row numbers.
    assert "Nguyễn V. A. (0010****1234)" in listed.stdout
    assert FULL_ID not in listed.stdout and "citizen" not in listed.stdout
    assert "Ngày sinh: 15/07/1990 → 01/02/1960" in listed.stdout and "1960-02-01" not in listed.stdout
    assert "Giới tính: Nam → Nữ" in listed.stdout and "Phường Hoàn Kiếm" in listed.stdout
    assert "Họ và tên: Nguyễn Văn An → Nguyễn Văn Bình" in listed.stdout
    # The ID now and the one proposed, both masked like any other.
    assert "001160004321" not in listed.stdout and "0010****1234 → 0011****4321" in listed.stdout

    for field, request_id in ids.items():
        approved = station(db, "corrections", "approve", str(request_id))
        assert approved.returncode == 0, (field, approved.stderr)
        assert "Traceback" not in approved.stderr

    book = await read_own_book(db, citizen_id, locale="vi")
    assert book is not None
    rows = _rows(book)
    assert rows["general.full_name"] == "Nguyễn Văn Bình"
    assert rows["general.birth_date"] == "01/02/1960"
    assert rows["general.sex"] == "Nữ"
    assert rows["general.personal_id"] == "001160004321"
    assert "HT3010123456780" in rows.values()
    async with db.sessions() as session:
        citizen = await session.get(Citizen, citizen_id)
        card = await session.scalar(select(InsuranceCard).where(
            InsuranceCard.citizen_id == citizen_id, InsuranceCard.superseded_at.is_(None)))
        for field, provenance_id in (("full_name", citizen.full_name_prov),
                                     ("birth_date", citizen.birth_date_prov),
                                     ("sex", citizen.sex_prov),
                                     ("personal_id", citizen.personal_id_prov),
                                     ("insurance_card", card.provenance_id)):
            source = await session.get(Provenance, provenance_id)
            assert source.source is Source.HEALTH_STATION, field
            assert source.reference == f"correction request {ids[field]}", field
        notices = (await session.scalars(select(CitizenNotice).where(
            CitizenNotice.citizen_id == citizen_id, CitizenNotice.kind == "correction_approved")
            .order_by(CitizenNotice.id))).all()
    # The citizen is told the value as the book shows it, not as it is stored.
    told = [notice_reply(n.kind, json.loads(n.params), translator("vi")).text for n in notices]
    assert any("Ngày sinh nay là 01/02/1960." in text for text in told)
    assert any("Giới tính nay là Nữ." in text for text in told)
    assert not any("1960-02-01" in text for text in told)


async def _volunteer(db: Database) -> Staff:
    invite = await staff_service.invite(db, StaffRole.VOLUNTEER, ward_code="00070", name="Lan")
    account = await db.write(accounts.open_account, "telegram", "volunteer-1")
    volunteer = await staff_service.accept(db, invite.code, account.id)
    assert volunteer is not None
    return volunteer


async def test_the_station_list_of_volunteer_entries_names_the_resident_and_shows_values_as_the_book(
        db: Database) -> None:
    citizen_id = await make_full_record(db)
    await propose(db, await _volunteer(db), citizen_id, {
        "ethnicity_code": "06", "blood_group": BloodGroup("A", "-"), "emergency_contact_name": "Lê Văn Nam",
        "emergency_contact_relation": "con trai", "emergency_contact_phone": "+84912000321"})

    listed = station(db, "pending", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Nguyễn V. A. (0010****1234)" in listed.stdout and FULL_ID not in listed.stdout
    assert "Dân tộc là Mường" in listed.stdout and "ethnicity_code" not in listed.stdout
    assert "A Rh−" in listed.stdout
    assert "0912000321" not in listed.stdout and "+84912000321" not in listed.stdout
    assert "citizen" not in listed.stdout


async def test_a_volunteers_emergency_contact_is_one_entry_listed_as_the_book_shows_it_and_saved_whole(
        db: Database) -> None:
    citizen_id = await make_full_record(db)
    await propose(db, await _volunteer(db), citizen_id, {
        "emergency_contact_name": "Lê Văn Nam", "emergency_contact_relation": "con trai",
        "emergency_contact_phone": "+84912345321"})

    listed = station(db, "pending", "list")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.strip().splitlines()
    assert len(rows) == 1, listed.stdout  # one entry, never a row per part
    assert "Người liên hệ khi khẩn cấp là Lê Văn Nam (con trai), 0912****321" in rows[0]
    assert "+84" not in listed.stdout and "Quan hệ" not in listed.stdout
    assert station(db, "pending", "confirm", rows[0].split()[0].lstrip("#")).returncode == 0
    async with db.sessions() as session:
        citizen = await session.get(Citizen, citizen_id)
        saved = (citizen.emergency_contact_name, citizen.emergency_contact_relation,
                 citizen.emergency_contact_phone)
    assert saved == ("Lê Văn Nam", "con trai", "+84912345321")


async def test_a_station_approving_a_request_number_that_does_not_exist_is_told_there_is_none(
        db: Database) -> None:
    citizen_id = await make_full_record(db)
    request_id = await file_request(db, citizen_id, "sex", proposed_text("sex", "Nữ"), "Nhầm",
                                    channel="telegram")
    for args in (("approve", "99"), ("reject", "99", "--reason", "Không rõ")):
        answered = station(db, "corrections", *args)
        assert answered.returncode == 2, answered.stderr
        assert "Không có đề nghị số 99." in answered.stderr and "chờ duyệt" not in answered.stderr
    assert station(db, "corrections", "approve", str(request_id)).returncode == 0
    again = station(db, "corrections", "approve", str(request_id))
    assert again.returncode == 2 and f"Đề nghị {request_id} không ở trạng thái chờ duyệt." in again.stderr


async def test_a_correction_equal_to_the_record_or_a_second_one_for_a_waiting_detail_is_not_filed(
        db: Database) -> None:
    citizen_id = await make_full_record(db)
    same = await file_request(db, citizen_id, "full_name", proposed_text("full_name", "nguyễn văn an"),
                              "Sai", channel="telegram")
    assert isinstance(same, Refused) and same.why is Refusal.SAME_AS_RECORD
    first = await file_request(db, citizen_id, "full_name", proposed_text("full_name", "Nguyễn Văn Ân"),
                               "Sai dấu", channel="telegram")
    assert isinstance(first, int)
    second = await file_request(db, citizen_id, "full_name",
                                proposed_text("full_name", "Nguyễn Văn Anh"), "Sai", channel="telegram")
    assert isinstance(second, Refused) and second.why is Refusal.ALREADY_WAITING
    assert second.since is not None
    assert [r.id for r in await list_requests(db)] == [first]
