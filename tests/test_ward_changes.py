"""A volunteer reports that a resident moved away or died; the ward health station confirms or rejects.

On both databases: the record's status changes only on the station's word, with its provenance
and the old status in the field history; a death ends everything that acted as the person (their
accounts on every channel, a USSD session, check-in codes, proxy grants) and a guardian's or
proxy's open book at their next input; the volunteer hears the outcome, a rejection's reason too.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.flows.engine import Conversation
from bot.flows.notices import notice_reply
from bot.flows.replies import Input
from core import families, notices
from core.checkin import tokens
from core.checkin.tokens import CheckinState
from core.corrections.model import CorrectionRequest, RequestStatus
from core.corrections.service import file_request, proposed_text
from core.db import Database
from core.families import Power
from core.i18n import now_utc, today_hanoi, translator
from core.identity import accounts, sessions
from core.identity.pins import hash_pin
from core.records.citizen import Citizen, FieldChange
from core.records.provenance import Provenance, Source
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.staff.service import Staff
from core.values import CitizenStatus, PartialDate
from core.volunteering.changes import (
    ChangeKind,
    Decided,
    Refusal,
    Refused,
    confirm_change,
    open_reports,
    refusal,
    reject_change,
    report_change,
)
from core.volunteering.model import PendingStatus, PendingValue, ReportStatus, WardChangeReport
from core.volunteering.pending import pending_values, propose
from core.volunteering.residents import Lookup, find_resident, worklist
from tests.records import FULL_ID, make_full_record
from tests.test_corrections_station import station
from tests.test_import_roster import AN, roster

WARD = "00070"  # Phường Hoàn Kiếm, the full record's ward
BOOK_REFUSED = "Vui lòng xác thực danh tính trước."
BOOK_LOST = "Bạn không còn quyền mở sổ đang xem"


async def _volunteer(db: Database, ward: str = WARD, name: str = "Đỗ Thị Tình") -> Staff:
    account = await db.write(accounts.open_account, "telegram", f"volunteer-{ward}-{name}")
    invite = await staff_service.invite(db, StaffRole.VOLUNTEER, ward_code=ward, name=name)
    staff = await staff_service.accept(db, invite.code, account.id)
    assert staff is not None
    return staff


async def _person(db: Database, name: str, personal_id: str, born: PartialDate, *,
                  guardian: int | None = None, ward: str = WARD) -> int:
    """A resident the register knows by name, birth date and ward (details missing: on the worklist)."""
    async with db.transaction() as session:
        register = Provenance(source=Source.POPULATION_DB, reference="test", received_at=now_utc(),
                              verified=True)
        session.add(register)
        await session.flush()
        row = Citizen(personal_id=personal_id, full_name=name, birth_date=born, ward_code=ward,
                      status=CitizenStatus.ACTIVE, status_prov=register.id, guardian_id=guardian,
                      guardian_id_prov=register.id if guardian else None)
        session.add(row)
        await session.flush()
        return row.id


async def _telegram(db: Database, external_id: str, citizen_id: int) -> int:
    account = await db.write(accounts.open_account, "telegram", external_id)
    await db.write(accounts.link_citizen, account.id, "telegram", citizen_id)
    return account.id


async def _say(db: Database, external_id: str, text: str) -> str:
    answer = await Conversation(db, "telegram").handle(external_id, Input.of_text(text))
    return "\n".join(reply.text for reply in answer.replies)


async def _volunteer_told(db: Database, staff: Staff) -> list[notices.DueNotice]:
    return [n for n in await db.read(notices.due, 500) if n.account_id == staff.account_id]


async def _waiting_on(db: Database, citizen_id: int) -> dict[str, list[str]]:
    """What waits about the person, by kind: volunteers' entries, correction requests, reports."""
    def read(connection):  # type: ignore[no-untyped-def]
        def statuses(table, column):  # type: ignore[no-untyped-def]
            return sorted(connection.execute(select(table.c[column]).where(
                table.c.citizen_id == citizen_id)).scalars())
        return {"entries": statuses(PendingValue.__table__, "status"),
                "deciders": statuses(PendingValue.__table__, "decided_by"),
                "requests": statuses(CorrectionRequest.__table__, "status"),
                "reports": statuses(WardChangeReport.__table__, "status")}
    return await db.read(read)


async def test_a_death_confirmed_at_the_station_closes_the_book_and_every_way_to_act_as_the_person(
        db: Database) -> None:
    deceased = await make_full_record(db)  # Nguyễn Văn An, 15/07/1990, ward 00070
    volunteer = await _volunteer(db)
    # The person's Telegram account, a feature phone with a PIN in the middle of a session, a live
    # check-in code, a daughter they named as proxy with their book open, and news still to tell them.
    await _telegram(db, "an-telegram", deceased)
    keypad = await db.write(accounts.open_account, "ussd", "an-keypad")
    await db.write(accounts.link_citizen, keypad.id, "ussd", deceased, hash_pin("2580"))
    session = await db.write(sessions.start_session, "ussd", "gw-1", keypad.id, now_utc())
    await db.write(lambda c: sessions.save_answer(c, session.id, text="1", answer="CON Sổ sức khỏe", view={},
                                                  signed_in=True, closed=False, now=now_utc()))
    issued = await tokens.issue(db, deceased, "telegram")
    daughter = await _person(db, "Nguyễn Thị Hoa", "001185002222", PartialDate(1985, 4, 2))
    daughter_account = await _telegram(db, "hoa-telegram", daughter)
    await db.write(lambda c: families.grant_proxy(c, deceased, daughter, [Power.READ], today=today_hanoi(),
                                                  channel="telegram", tell=False))
    await db.write(accounts.open_book_of, daughter_account, deceased)
    await db.write(lambda c: notices.enqueue(c, deceased, "correction_approved", field="sex", value="1"))
    assert "Vui lòng xác thực" not in await _say(db, "an-telegram", "/book")
    # A volunteer's entry and the person's own correction request, both waiting for the station.
    await propose(db, volunteer, deceased, {"ethnicity_code": "06"})
    assert isinstance(await file_request(db, deceased, "sex", proposed_text("sex", "Nữ"), "Nhầm",
                                         channel="telegram"), int)

    # The volunteer finds her as /change does, and reports the death with the month known.
    found = await find_resident(db, volunteer, await db.read(accounts.find_account, "telegram",
                                                             f"volunteer-{WARD}-Đỗ Thị Tình"),
                                FULL_ID, dt.date(1990, 7, 15))
    assert found.state is Lookup.FOUND and found.citizen_id == deceased
    report = await report_change(db, volunteer, deceased, ChangeKind.DECEASED, PartialDate(2025, 11),
                                 "Con gái báo tại nhà")
    assert isinstance(report, int)
    # Reported is not yet true: the book, the code and the proxy all still work.
    assert (await db.read(lambda c: c.execute(select(Citizen.status).where(Citizen.id == deceased)).scalar())
            is CitizenStatus.ACTIVE)
    [waiting] = await open_reports(db, WARD)
    assert (waiting.id, waiting.name, waiting.masked_id, waiting.birth_year, waiting.kind, waiting.date,
            waiting.volunteer) == (report, "Nguyễn V. A.", "0010****1234", 1990, ChangeKind.DECEASED,
                                   PartialDate(2025, 11), "Đỗ Thị Tình")
    assert await open_reports(db, "00004") == []

    assert await confirm_change(db, report, by="Phạm Văn Trạm") is Decided.DONE

    async with db.sessions() as s:
        row = (await s.execute(select(Citizen.status, Citizen.status_date, Provenance.source,
                                      Provenance.reference)
                               .join(Provenance, Provenance.id == Citizen.status_prov)
                               .where(Citizen.id == deceased))).one()
        history = (await s.execute(select(FieldChange.field, FieldChange.old_value, FieldChange.new_value)
                                   .where(FieldChange.citizen_id == deceased))).all()
    assert row.status is CitizenStatus.DECEASED and row.status_date == dt.date(2025, 11, 1)
    assert row.source is Source.HEALTH_STATION and f"report {report}" in row.reference
    assert ("status", "active", "deceased") in history
    # Nothing waits for the station about her any more: the entry and the request are closed.
    assert await pending_values(db, citizen_id=deceased) == []
    assert await _waiting_on(db, deceased) == {
        "entries": [PendingStatus.REJECTED], "deciders": ["deceased"],
        "requests": [RequestStatus.CLOSED], "reports": [ReportStatus.CONFIRMED]}
    # Nothing acts as the person any more: no book on Telegram, no PIN session, no code, no proxy.
    assert BOOK_REFUSED in await _say(db, "an-telegram", "/book")
    assert await db.read(accounts.linked_accounts, "ussd", deceased) == []
    assert (await db.read(accounts.find_account, "ussd", "an-keypad")).citizen_id is None
    ended = await db.read(sessions.find_session, "ussd", "gw-1")
    assert ended is not None and ended.closed and not ended.signed_in and ended.answer is None
    resolved = await db.read(tokens.resolve, "token_hash", tokens.token_digest(issued.token), now_utc())
    assert resolved.state is CheckinState.REVOKED
    assert await db.read(families.proxies_of, deceased, today_hanoi()) == []
    # The daughter's open book closes at her next input, in the one rule's words.
    assert BOOK_LOST in await _say(db, "hoa-telegram", "/book")
    assert await db.read(families.dependents, daughter, today_hanoi()) == []
    # Nothing more is said to the person; the volunteer hears the outcome.
    due = await db.read(notices.due, 500)
    assert [n for n in due if n.citizen_id == deceased and n.account_id != volunteer.account_id] == []
    [told] = await _volunteer_told(db, volunteer)
    assert told.kind == "change_deceased_confirmed"
    said = notice_reply(told.kind, told.params, translator("vi"))
    assert said is not None and "đã xác nhận báo cáo của bạn: Nguyễn V. A. đã mất" in said.text
    assert "Nguyễn Văn An" not in said.text
    # A second confirm, or a reject after it, says what happened and changes nothing.
    assert await confirm_change(db, report, by="Phạm Văn Trạm") is Decided.ALREADY_CONFIRMED
    assert await reject_change(db, report, "Nhầm", by="Phạm Văn Trạm") is Decided.ALREADY_CONFIRMED
    assert await confirm_change(db, report + 100, by="Phạm Văn Trạm") is Decided.NO_SUCH_REPORT
    assert len(await _volunteer_told(db, volunteer)) == 1


async def test_a_child_who_moved_away_leaves_the_ward_list_and_the_guardian_loses_the_book_at_the_next_input(
        db: Database) -> None:
    mother = await _person(db, "Vũ Thị Mẹ", "001180003333", PartialDate(1980, 1, 5))
    today = today_hanoi()
    child = await _person(db, "Vũ Văn Bé", "001215004444", PartialDate(today.year - 9, 3, 1), guardian=mother)
    await _telegram(db, "me-telegram", mother)
    child_account = await _telegram(db, "be-telegram", child)
    await db.write(accounts.open_book_of, (await db.read(accounts.find_account, "telegram",
                                                         "me-telegram")).id, child)
    assert "Vũ Văn Bé" in await _say(db, "me-telegram", "/book")
    listed = await worklist(db, WARD, per_page=50)
    assert "Vũ V. B." in [item.name for item in listed.items]
    volunteer = await _volunteer(db)

    report = await report_change(db, volunteer, child, ChangeKind.MOVED_AWAY, None, "",
                                 destination="Phường Long Biên")
    assert isinstance(report, int)
    assert await confirm_change(db, report, by="Phạm Văn Trạm", ward=WARD) is Decided.DONE

    status = await db.read(lambda c: c.execute(select(Citizen.status, Citizen.status_date)
                                               .where(Citizen.id == child)).one())
    assert status.status is CitizenStatus.MOVED_AWAY and status.status_date == now_utc().date()
    assert BOOK_LOST in await _say(db, "me-telegram", "/book")
    assert await db.read(families.dependents, mother, today) == []
    # Moved away is not dead: the child's own account keeps its link.
    assert (await db.read(accounts.find_account, "telegram", "be-telegram")).citizen_id == child
    assert child_account
    assert "Vũ V. B." not in [item.name for item in (await worklist(db, WARD, per_page=50)).items]
    [told] = await _volunteer_told(db, volunteer)
    assert told.kind == "change_moved_away_confirmed"


async def test_one_report_waits_at_a_time_and_only_a_volunteer_of_the_ward_may_file_it(db: Database) -> None:
    resident = await make_full_record(db)
    ours, theirs = await _volunteer(db), await _volunteer(db, "00004", "Lý Văn Khác")

    assert await report_change(db, theirs, resident, ChangeKind.DECEASED, None, "") == \
        Refused(Refusal.NOT_IN_WARD)
    assert await report_change(db, ours, resident, ChangeKind.DECEASED, PartialDate(1989), "") == \
        Refused(Refusal.BEFORE_BIRTH)
    first = await report_change(db, ours, resident, ChangeKind.MOVED_AWAY, PartialDate(2025, 10, 2), "")
    assert isinstance(first, int)
    second = await report_change(db, ours, resident, ChangeKind.DECEASED, None, "")
    assert isinstance(second, Refused) and second.why is Refusal.ALREADY_WAITING
    assert second.since is not None and now_utc() - second.since < dt.timedelta(minutes=5)
    assert await refusal(db, ours, resident) == second
    assert [r.id for r in await open_reports(db, WARD)] == [first]

    # A volunteer whose invite was revoked files nothing, whatever the bot still holds of them.
    assert await reject_change(db, first, "Người dân vẫn ở đây", by="Phạm Văn Trạm") is Decided.DONE
    assert await staff_service.revoke(db, ours.id)
    assert await report_change(db, ours, resident, ChangeKind.DECEASED, None, "") == \
        Refused(Refusal.NOT_A_VOLUNTEER)


async def test_the_station_rejects_at_its_command_line_and_the_volunteer_reads_the_reason(
        db: Database) -> None:
    resident = await make_full_record(db)
    volunteer = await _volunteer(db)
    moved = await report_change(db, volunteer, resident, ChangeKind.MOVED_AWAY, PartialDate(2025, 9),
                                "Hàng xóm báo", destination="Tỉnh Bắc Ninh")
    assert isinstance(moved, int)

    listed = station(db, "changes", "list", "--ward", WARD)
    assert listed.returncode == 0, listed.stderr
    assert f"#{moved} " in listed.stdout and "Nguyễn V. A. (0010****1234, sinh năm 1990)" in listed.stdout
    assert "đã chuyển đi vào --/09/2025" in listed.stdout and "Người báo: Đỗ Thị Tình" in listed.stdout
    assert "Chuyển đến: Tỉnh Bắc Ninh" in listed.stdout and "Ghi chú: Hàng xóm báo" in listed.stdout
    assert FULL_ID not in listed.stdout and "Nguyễn Văn An" not in listed.stdout

    refused = station(db, "changes", "reject", str(moved), "--by", "Phạm Văn Trạm", "--reason", " ")
    assert refused.returncode == 2 and "--reason" in refused.stderr
    rejected = station(db, "changes", "reject", str(moved), "--by", "Phạm Văn Trạm",
                       "--reason", "Gia đình vẫn ở tại phường, chỉ đi làm xa")
    assert rejected.returncode == 0, rejected.stderr
    again = station(db, "changes", "confirm", str(moved), "--by", "Phạm Văn Trạm")
    assert again.returncode == 2 and "đã bị từ chối trước đó" in again.stderr
    assert station(db, "changes", "list").stdout.strip() == "Không có báo cáo biến động nào đang chờ."

    status = await db.read(lambda c: c.execute(select(Citizen.status).where(Citizen.id == resident)).scalar())
    assert status is CitizenStatus.ACTIVE
    [told] = await _volunteer_told(db, volunteer)
    said = notice_reply(told.kind, told.params, translator("vi"))
    assert said is not None
    assert said.text == ("Trạm y tế không xác nhận báo cáo của bạn rằng Nguyễn V. A. đã chuyển đi. "
                         "Lý do: Gia đình vẫn ở tại phường, chỉ đi làm xa")
    assert [o.label for row in said.options for o in row] == ["📋 Người dân cần hỗ trợ"]


async def test_the_register_saying_a_person_died_ends_what_acted_as_them_and_what_waited_on_them(
        db: Database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    deceased = await make_full_record(db)  # Nguyễn Văn An, the register's row AN
    volunteer = await _volunteer(db)
    await _telegram(db, "an-telegram", deceased)
    issued = await tokens.issue(db, deceased, "telegram")
    daughter = await _person(db, "Nguyễn Thị Hoa", "001185002222", PartialDate(1985, 4, 2))
    await _telegram(db, "hoa-telegram", daughter)
    await db.write(lambda c: families.grant_proxy(c, deceased, daughter, [Power.READ], today=today_hanoi(),
                                                  channel="telegram", tell=False))
    await propose(db, volunteer, deceased, {"ethnicity_code": "06"})
    assert isinstance(await file_request(db, deceased, "sex", proposed_text("sex", "Nữ"), "Nhầm",
                                         channel="telegram"), int)
    moved = await report_change(db, volunteer, deceased, ChangeKind.MOVED_AWAY, None, "",
                                destination="Phường Long Biên")
    assert isinstance(moved, int)
    assert AN.startswith(FULL_ID) and AN.endswith("O+,,")

    # The population register's next roster says he died (trang_thai tu_vong).
    path = roster(tmp_path, AN[:-1] + "tu_vong,")
    imported = station(db, "import-roster", str(path))
    assert imported.returncode == 0, imported.stderr

    assert (await db.read(lambda c: c.execute(select(Citizen.status).where(Citizen.id == deceased)).scalar())
            is CitizenStatus.DECEASED)
    assert BOOK_REFUSED in await _say(db, "an-telegram", "/book")
    assert await db.read(accounts.linked_accounts, "telegram", deceased) == []
    resolved = await db.read(tokens.resolve, "token_hash", tokens.token_digest(issued.token), now_utc())
    assert resolved.state is CheckinState.REVOKED
    assert await db.read(families.proxies_of, deceased, today_hanoi()) == []
    assert await open_reports(db, WARD) == []
    assert await _waiting_on(db, deceased) == {
        "entries": [PendingStatus.REJECTED], "deciders": ["deceased"],
        "requests": [RequestStatus.CLOSED], "reports": [ReportStatus.CLOSED]}
    # The daughter, alive, keeps her own book.
    assert (await db.read(accounts.find_account, "telegram", "hoa-telegram")).citizen_id == daughter
    # A confirm of the report the register overtook changes nothing.
    assert await confirm_change(db, moved, by="Phạm Văn Trạm") is not Decided.DONE
