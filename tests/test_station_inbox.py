"""The station's inbox decides many items at once: each resident hears once, naming the details;
an item decided meanwhile, or of another ward, says so and changes nothing. On both databases."""

from __future__ import annotations

from bot.flows.notices import notice_reply
from core import notices
from core.db import Database
from core.i18n import translator
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.values import PartialDate
from core.volunteering import inbox, pending
from core.volunteering.inbox import ItemKind, Outcome
from tests.records import make_full_record
from tests.test_ward_changes import WARD, _person, _telegram, _volunteer

VI = translator("vi")


async def _station(db: Database, ward: str = WARD) -> staff_service.Staff:
    from core.identity import accounts

    account = await db.write(accounts.open_account, "telegram", f"station-{ward}")
    invite = await staff_service.invite(db, StaffRole.STATION, ward_code=ward, name="Phạm Văn Trạm")
    staff = await staff_service.accept(db, invite.code, account.id)
    assert staff is not None
    return staff


async def test_two_entries_of_one_resident_confirmed_together_are_one_message_naming_both(
        db: Database) -> None:
    an = await make_full_record(db)  # ward 00070, with a linked account below
    await _telegram(db, "an-telegram", an)
    hoa = await _person(db, "Nguyễn Thị Hoa", "001185002222", PartialDate(1985, 4, 2))
    await _telegram(db, "hoa-telegram", hoa)
    volunteer, station = await _volunteer(db), await _station(db)
    an_entries = await pending.propose(db, volunteer, an, {"occupation": "Giáo viên",
                                                           "email": "an.moi@example.vn"})
    [hoa_entry] = await pending.propose(db, volunteer, hoa, {"occupation": "Kế toán"})
    listed = await inbox.ward_inbox(db, station.reader, VI)
    assert sorted(item.id for item in listed if item.kind is ItemKind.ENTRY) == sorted(
        [*an_entries, hoa_entry])

    chosen = [(ItemKind.ENTRY, i) for i in [*an_entries, hoa_entry, 10_000]]
    decisions = await inbox.decide(db, station.reader, chosen, confirm=True, reason=None, by="station:1")

    assert {d.id: d.outcome for d in decisions} == {
        **dict.fromkeys([*an_entries, hoa_entry], Outcome.DONE), 10_000: Outcome.NOT_IN_WARD}
    due = [n for n in await db.read(notices.due, 50) if n.kind == "pending_confirmed"]
    said = {n.citizen_id: notice_reply(n.kind, n.params, VI) for n in due}
    assert sorted(said) == sorted([an, hoa])  # one message each
    assert said[an] is not None and "Nghề nghiệp, Email" in said[an].text
    assert said[hoa] is not None and "Nghề nghiệp." in said[hoa].text and "Email" not in said[hoa].text
    # Decided already (a colleague's tab): said so, nothing more sent.
    again = await inbox.decide(db, station.reader, chosen[:1], confirm=False, reason="Nhầm", by="station:2")
    assert [d.outcome for d in again] == [Outcome.ALREADY_DECIDED]
    assert len([n for n in await db.read(notices.due, 50) if n.kind.startswith("pending_")]) == 2


async def test_a_rejection_names_the_details_and_gives_the_reason(db: Database) -> None:
    an = await make_full_record(db)
    await _telegram(db, "an-telegram", an)
    volunteer, station = await _volunteer(db), await _station(db)
    [entry] = await pending.propose(db, volunteer, an, {"occupation": "Giáo viên"})
    await inbox.decide(db, station.reader, [(ItemKind.ENTRY, entry)], confirm=False,
                       reason="Người dân nói chưa đúng", by="station:1")
    [told] = [n for n in await db.read(notices.due, 50) if n.kind == "pending_rejected"]
    said = notice_reply(told.kind, told.params, VI)
    assert said is not None
    assert "chưa xác nhận" in said.text and "Nghề nghiệp" in said.text
    assert said.text.endswith("Lý do: Người dân nói chưa đúng")
