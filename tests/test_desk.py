"""The web console in a real browser, on the sandbox as `make run` starts it: reception, the station's
inbox, changes in the ward, the team; sign-in, revocation, CSRF; WCAG 2.1 AA on every page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Page, expect

from core.consent.access import latest_access
from core.consent.grants import set_any_clinic
from core.corrections import service as corrections
from core.db import Database
from core.i18n import today_hanoi
from core.identity import accounts
from core.records import people
from core.records.display_rules import BookGroup
from core.reference.wards import ward_by_code
from core.staff import desk as signin
from core.staff import service as staff_service
from core.staff.model import StaffRole
from core.volunteering import pending
from core.volunteering.residents import short_name
from sandbox.client import TelegramUser
from sandbox.personas import CITIZEN_BASE, STATION_BASE, VOLUNTEER_BASE
from tests.desk_world import PHONE, accessible, chromium, focus_follows_reading_order, signed_in, tab_from
from tests.sandbox_world import chat_page, credentials, personas


@pytest.fixture
async def sandbox_db(sandbox_database: Path, sandbox: str):
    """The sandbox's own database file, opened beside it (what a station or operator changes)."""
    db = Database(f"sqlite+aiosqlite:///{sandbox_database}")
    yield db
    await db.dispose()


async def verified(sandbox: str, persona: dict) -> TelegramUser:
    """The persona's phone in the sandbox, verified as the person does it in the chat."""
    personal_id, birth = credentials(persona)
    user = TelegramUser(sandbox, persona["user_id"], first_name=persona["first_name"])
    await user.send("/start")
    await user.until(lambda m: "CCCD" in m.text)
    await user.send(personal_id)
    await user.until(lambda m: "ngày/tháng/năm" in m.text)
    await user.send(birth)
    await user.until(lambda m: m.reply_keyboard is not None)
    await user.share_contact(persona["phone_number"])
    await user.until(lambda m: any("Sổ sức khỏe" in label for row in m.buttons for label, _ in row))
    return user


async def shown_qr(user: TelegramUser) -> tuple[str, str]:
    """The citizen's check-in QR decoded as a scanner reads it, and the code they would read out."""
    await user.send("/maqr")
    shown = await user.until(lambda m: m.has_photo and not m.edited)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(await shown.photo())))
    assert len(decoded) == 1
    spoken = re.search(r"\d{4} \d{4}", shown.text).group()
    return decoded[0].text, spoken


def door(persona: dict) -> str:
    return persona["desk_url"]


async def ward_team(sandbox: str, db: Database, *, with_phone: bool = True) -> tuple[dict, dict, dict]:
    """A ward's station and volunteer personas, and a resident of that ward with details missing."""
    people_ = personas(sandbox)
    for station in (p for p in people_ if p["role"] == "station"):
        ward = f"{station['user_id'] - STATION_BASE:05d}"
        helper = next((p for p in people_ if p["role"] == "volunteer"
                       and p["user_id"] - VOLUNTEER_BASE == int(ward)), None)
        for resident in (p for p in people_ if p["role"] == "citizen" and p.get("kind") == "with_gaps"
                         and (p["phone_number"] or not with_phone)):
            person = await db.read(people.by_id, resident["user_id"] - CITIZEN_BASE)
            if helper and person and person.ward_code == ward:
                return station, helper, resident
    raise AssertionError("the demo has no ward with a station, a volunteer and a resident to help")


async def test_a_receptionist_scans_a_qr_then_types_a_spoken_code_and_the_citizen_is_told(
        sandbox: str, tmp_path: Path) -> None:
    people_ = personas(sandbox)
    citizen = [p for p in people_ if p["role"] == "citizen" and p["phone_number"]][2]
    desk = next(p for p in people_ if p["role"] == "receptionist")
    personal_id, _birth = credentials(citizen)
    async with await verified(sandbox, citizen) as phone, chromium() as browser:
        link, _spoken = await shown_qr(phone)
        page = await signed_in(browser, sandbox, door(desk))
        await expect(page).to_have_url(re.compile(r"/desk/reception$"))
        await accessible(page)
        # Keyboard alone: the box has the focus; a scanner types the link and presses Enter.
        await expect(page.get_by_label("Quét mã QR")).to_be_focused()
        await page.keyboard.type(link)
        await page.keyboard.press("Enter")
        card = page.get_by_role("article")
        await expect(card.get_by_role("heading", level=2)).to_contain_text(citizen["name"])
        await expect(card).to_contain_text(personal_id)
        await expect(card).to_contain_text("Hiển thị theo sự đồng ý của người bệnh: Thông tin hành chính, "
                                           "Bảo hiểm y tế.")
        await expect(card).not_to_contain_text("Lịch sử khám chữa bệnh")  # not shared by default
        await accessible(page)
        await page.screenshot(path=str(tmp_path / "reception-card.png"), full_page=True)
        # Printed, the card is alone on one A5 sheet: no menu, no scan box.
        await page.emulate_media(media="print")
        await expect(page.get_by_role("navigation")).to_be_hidden()
        await expect(page.get_by_label("Quét mã QR")).to_be_hidden()
        pdf = await page.pdf(prefer_css_page_size=True)
        assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1, "the card runs onto a second sheet"
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        assert box and abs(float(box[1]) - 419.5) < 1 and abs(float(box[2]) - 595.3) < 1, "not an A5 sheet"
        await page.emulate_media(media="screen")
        told = await phone.until(lambda m: "đã xem sổ sức khỏe của bạn" in m.text)
        assert desk["name"] in told.text

        # The next visit: a new code, read out this time instead of scanned.
        _link, spoken = await shown_qr(phone)
        box = page.get_by_label("Quét mã QR")
        await box.fill(spoken)
        await box.press("Enter")
        await expect(page.get_by_role("article")).to_contain_text(personal_id)
        await phone.until(lambda m: "đã xem sổ sức khỏe của bạn" in m.text and m is not told)

        # The old link was replaced by the new code: one answer that reveals nothing.
        await page.get_by_label("Quét mã QR").fill(link)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("alert")).to_contain_text("không mở được sổ sức khỏe")
        await expect(page.get_by_role("article")).to_have_count(0)
        assert await tab_from(page, "Quét mã QR", 1) == ["Mở"]
        await focus_follows_reading_order(page)


async def test_a_receptionist_opens_a_shared_visit_in_full_only_while_the_persons_code_is_valid(
        sandbox: str, sandbox_db: Database) -> None:
    people_ = personas(sandbox)
    citizen = next(p for p in people_ if p["role"] == "citizen" and p.get("kind") == "with_visits")
    desk = next(p for p in people_ if p["role"] == "receptionist")
    citizen_id = citizen["user_id"] - CITIZEN_BASE
    # The person opens their visits to any clinic (what /chiase does in the chat).
    await set_any_clinic(sandbox_db, citizen_id, frozenset({BookGroup.VISITS}), channel="telegram")
    async with await verified(sandbox, citizen) as phone, chromium() as browser:
        link, _spoken = await shown_qr(phone)
        page = await signed_in(browser, sandbox, door(desk))
        await page.get_by_label("Quét mã QR").fill(link)
        await page.keyboard.press("Enter")
        card = page.get_by_role("article")
        await expect(card).to_contain_text("Lịch sử khám chữa bệnh")
        first = card.get_by_role("listitem").filter(has=page.get_by_role("link")).first
        title = await first.get_by_role("link").inner_text()
        visit_page = page.url
        await first.get_by_role("link").click()
        heading = page.get_by_role("heading", level=1)
        await expect(heading).to_contain_text(f"lần khám {title}")
        await expect(heading).to_contain_text(citizen["name"])
        assert await page.locator("article dl dt").count() >= 2, "the visit shows no details"
        await accessible(page)
        reads = await latest_access(sandbox_db, citizen_id)
        assert reads[0].via == "card" and reads[0].reader_role == "receptionist"
        assert reads[0].groups == frozenset({BookGroup.GENERAL, BookGroup.VISITS})
        opened = page.url
        # Back to the card, and a reload of it: the card again, read again and logged, no form resent.
        await page.get_by_role("link", name=f"Quay lại thẻ của {citizen['name']}").click()
        card_name = page.get_by_role("article").get_by_role("heading", level=2)
        await expect(card_name).to_contain_text(citizen["name"])
        await page.reload()
        await expect(page.get_by_role("article")).to_contain_text("Lịch sử khám chữa bệnh")
        await accessible(page)
        assert [r.via for r in (await latest_access(sandbox_db, citizen_id))[:2]] == ["card", "card"]
        # A new code replaces the old one: the card's visits no longer open, and say why.
        await shown_qr(phone)
        await page.goto(opened)
        await expect(page.get_by_role("alert")).to_contain_text("Thẻ này đã đóng")
        await expect(page.get_by_role("article")).to_have_count(0)
        assert re.search(r"/desk/reception/\d+$", visit_page), visit_page  # the card's own address


async def test_a_station_confirms_a_volunteer_entry_and_a_birth_date_correction_and_the_citizen_is_told(
        sandbox: str, sandbox_db: Database) -> None:
    station, _helper, resident = await ward_team(sandbox, sandbox_db)
    citizen_id = resident["user_id"] - CITIZEN_BASE
    person = await sandbox_db.read(people.by_id, citizen_id)
    assert person is not None and person.ward_code is not None
    volunteer = next(m for m in await staff_service.list_staff(sandbox_db, ward_code=person.ward_code)
                     if m.role is StaffRole.VOLUNTEER)
    await pending.propose(sandbox_db, volunteer, citizen_id, {"occupation": "Giáo viên",
                                                              "email": "hoc.tro@example.vn"})
    born = person.birth_date.earliest()
    corrected = born.replace(day=born.day % 28 + 1)
    proposed = corrections.proposed_text("birth_date", corrected.strftime("%d/%m/%Y"))
    filed = await corrections.file_request(sandbox_db, citizen_id, "birth_date", proposed,
                                           "CCCD ghi ngày khác", channel="telegram")
    assert isinstance(filed, int)
    async with await verified(sandbox, resident) as phone, chromium() as browser:
        page = await signed_in(browser, sandbox, door(station))
        await expect(page).to_have_url(re.compile(r"/desk/inbox$"))
        rows = page.get_by_role("row")
        entry = rows.filter(has_text="Nghề nghiệp")
        correction = rows.filter(has_text="Ngày sinh")
        await expect(entry).to_contain_text(short_name(person.full_name))
        await expect(entry).to_contain_text("Giáo viên")
        await expect(entry).to_contain_text(f"sinh năm {born.year}")
        await expect(entry).not_to_contain_text(person.personal_id)  # masked
        await expect(correction).to_contain_text(born.strftime("%d/%m/%Y"))  # before, as the book shows it
        await expect(correction).to_contain_text(corrected.strftime("%d/%m/%Y"))  # after
        await expect(correction).to_contain_text("Người dân")
        await accessible(page)
        await focus_follows_reading_order(page)
        # Rejecting with no reason loses nothing and says what is missing.
        await entry.get_by_role("checkbox").check()
        await page.get_by_role("button", name="Từ chối các mục đã chọn").click()
        await expect(page.get_by_role("alert")).to_contain_text("lý do từ chối")
        for detail in ("Nghề nghiệp", "Email", "Ngày sinh"):
            await page.get_by_role("row").filter(has_text=detail).get_by_role("checkbox").check()
        await page.get_by_role("button", name="Xác nhận các mục đã chọn").click()
        await expect(page.get_by_role("status")).to_have_text(
            "Số mục đã xác nhận: 3. Người dân có tài khoản trên bot được báo, mỗi người một tin nhắn.")
        await expect(page.get_by_role("row").filter(has_text="Nghề nghiệp")).to_have_count(0)
        await phone.until(lambda m: "Trạm y tế đã duyệt đề nghị điều chỉnh" in m.text
                          and corrected.strftime("%d/%m/%Y") in m.text, timeout=20)
        told = [m.text for m in phone.transcript if "cùng tình nguyện viên" in m.text]
        # The two entries in one message that names them.
        assert len(told) == 1 and "Nghề nghiệp" in told[0] and "Email" in told[0], told
    after = await sandbox_db.read(people.by_id, citizen_id)
    assert after.birth_date.earliest() == corrected
    reads = await latest_access(sandbox_db, citizen_id)
    assert any(r.reader_role == "station" and r.via == "desk_inbox" for r in reads)


async def test_a_volunteers_moved_away_report_is_confirmed_at_the_station(sandbox: str,
                                                                         sandbox_db: Database) -> None:
    station, helper, resident = await ward_team(sandbox, sandbox_db, with_phone=False)
    personal_id, birth = credentials(resident)
    async with TelegramUser(sandbox, helper["user_id"], first_name=helper["first_name"]) as volunteer:
        await volunteer.send("/biendong")
        await volunteer.until(lambda m: "12 chữ số" in m.text)
        await volunteer.send(personal_id)
        await volunteer.until(lambda m: "ngày/tháng/năm" in m.text)
        await volunteer.send(birth)
        await volunteer.until(lambda m: "có biến động gì" in m.text)
        await volunteer.press("🏠 Đã chuyển đi")
        await volunteer.until(lambda m: "chuyển đến đâu" in m.text)
        await volunteer.send("Phường Long Biên")
        await volunteer.until(lambda m: "chuyển đi khi nào" in m.text)
        await volunteer.send("11/2026")
        await volunteer.until(lambda m: "cần biết thêm gì" in m.text)
        await volunteer.press("Bỏ qua")
        await volunteer.until(lambda m: "Gửi báo cáo này" in m.text)
        await volunteer.press("✅ Gửi")
        await volunteer.until(lambda m: "Đã gửi" in m.text)
        async with chromium() as browser:
            page = await signed_in(browser, sandbox, door(station))
            await page.get_by_role("link", name="Biến động trong phường/xã").click()
            report = page.get_by_role("region").filter(has_text="Đã chuyển đi")
            await expect(report).to_contain_text("Phường Long Biên")
            await expect(report).to_contain_text("11/2026")
            await expect(report).not_to_contain_text(personal_id)
            await accessible(page)
            await report.get_by_role("button", name="Xác nhận: sửa hồ sơ").click()
            await expect(page.get_by_role("status")).to_contain_text("hồ sơ đã được sửa")
            await expect(page.get_by_role("region").filter(has_text="Phường Long Biên")).to_have_count(0)
        await volunteer.until(lambda m: "Trạm y tế đã xác nhận" in m.text, timeout=20)
    moved = await sandbox_db.read(people.by_id, resident["user_id"] - CITIZEN_BASE)
    assert moved.status.value == "moved_away"


async def test_a_revoked_receptionists_session_stops_at_once_and_an_operator_manages_the_team(
        sandbox: str, sandbox_db: Database) -> None:
    desk = next(p for p in personas(sandbox) if p["role"] == "receptionist")
    operator = await signin.desk_operator(sandbox_db, StaffRole.OPERATOR, "Nguyễn Quản Trị")
    token = await signin.issue_signin(sandbox_db, operator.id)
    async with chromium() as browser:
        reception = await signed_in(browser, sandbox, door(desk))
        admin = await signed_in(browser, sandbox, f"/desk/signin/{token}")
        # The link is spent: opening it again signs nobody in.
        again = await admin.context.new_page()
        answer = await again.goto(f"/desk/signin/{token}")
        assert answer is not None and answer.status == 410
        await admin.get_by_role("link", name="Nhóm làm việc").click()
        await accessible(admin)
        member = admin.get_by_role("row").filter(has_text=desk["name"])
        await expect(member).to_contain_text("Nhân viên tiếp đón")
        await member.get_by_role("button", name=re.compile("Thu hồi")).click()
        await expect(admin.get_by_role("row").filter(has_text=desk["name"])).to_have_count(0)
        await expect(admin.get_by_role("status")).to_contain_text("Đã thu hồi quyền")
        # The receptionist's very next request finds the session ended.
        await reception.reload()
        await expect(reception).to_have_url(re.compile(r"/desk/signin$"))
        await expect(reception.get_by_label("Quét mã QR")).to_have_count(0)
        # An invite for a new receptionist, printable: a link and a QR code that reads back.
        await admin.get_by_label("Vai trò").select_option("station")
        await admin.get_by_label("Họ tên (hiện").fill("Trần Thị Hoa")
        await admin.get_by_label("Phường/xã (cho").select_option(index=1)
        await admin.get_by_role("button", name="Tạo lời mời").click()
        invite = admin.get_by_role("region", name=re.compile("Lời mời"))
        link = await invite.get_by_role("link").inner_text()
        assert re.fullmatch(r"https://t\.me/\w+\?start=staff_[\w-]+", link), link
        shot = await invite.locator(".qr svg").screenshot()
        decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
        assert [d.text for d in decoded] == [link]
        await accessible(admin)
        # The language link right after a form: the console's home in English, not an error.
        await admin.get_by_role("link", name="English").click()
        await expect(admin.get_by_role("heading", level=1)).to_contain_text("Figures")
        # A receptionist's facility is chosen by its name; the list fills in the code.
        await admin.goto("/desk/team")
        options = admin.locator("#facility-list option")
        assert await options.count() > 0
        code, name = await options.first.get_attribute("value"), await options.first.inner_text()
        assert code and re.fullmatch(r"\d{5}", code) and name and not name.isdigit()
        await accessible(admin)
        # A name that is no facility's is refused, and nothing typed is lost; the full name is taken.
        await admin.get_by_label("Role").select_option("receptionist")
        await admin.get_by_label("Name (shown").fill("Lê Thu")
        await admin.get_by_label("Facility (receptionists)").fill("Phòng khám Không Có")
        await admin.get_by_role("button", name="Make the invite").click()
        await expect(admin.get_by_role("alert")).to_contain_text("Choose the facility from the list")
        await expect(admin.get_by_label("Name (shown")).to_have_value("Lê Thu")
        await expect(admin.get_by_label("Role")).to_have_value("receptionist")
        await admin.get_by_label("Facility (receptionists)").fill(name)
        await admin.get_by_role("button", name="Make the invite").click()
        await expect(admin.get_by_role("region", name=re.compile("Invite for"))).to_contain_text("Lê Thu")
        await admin.goto("/desk/team")
        waiting_thu = admin.get_by_role("row").filter(has_text="Lê Thu")
        await expect(waiting_thu).to_contain_text(name)  # the place by its name, not its code
        # Handed to the wrong person: the invite waits in its own list and is withdrawn there. (The
        # form's own address, opened again, is the Team page.)
        await admin.goto("/desk/team/invite")
        await expect(admin).to_have_url(re.compile(r"/desk/team$"))
        waiting = admin.get_by_role("region", name="Invites not used yet")
        hoa = waiting.get_by_role("row").filter(has_text="Trần Thị Hoa")
        await expect(hoa).to_contain_text("Health station staff")
        await accessible(admin)
        await waiting.get_by_role("button", name="Withdraw the invite for Trần Thị Hoa").click()
        await expect(admin.get_by_role("row").filter(has_text="Trần Thị Hoa")).to_have_count(0)
        await expect(admin.get_by_role("status")).to_contain_text("no longer work")
        account = await sandbox_db.write(accounts.open_account, "telegram", "hoa-wrong-hands")
        assert await staff_service.accept(sandbox_db, link.rpartition("staff_")[2], account.id) is None


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(sandbox: str,
                                                                          sandbox_db: Database) -> None:
    station = next(p for p in personas(sandbox) if p["role"] == "station")
    async with chromium() as browser:
        page = await signed_in(browser, sandbox, door(station))
        before = await pending.pending_values(sandbox_db)
        for form in ({"decision": "confirm", "item": "entry:1"},
                     {"decision": "confirm", "item": "entry:1", "csrf": "not-the-token"}):
            answer = await page.request.post("/desk/inbox", form=form)
            assert answer.status == 403
            assert "Biểu mẫu này đã hết hạn" in await answer.text()
        assert await pending.pending_values(sandbox_db) == before
        headers = (await page.request.get("/desk/inbox")).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


async def test_the_console_reads_on_a_phone_and_in_english(sandbox: str) -> None:
    station = next(p for p in personas(sandbox) if p["role"] == "station")
    async with chromium() as browser:
        page: Page = await signed_in(browser, sandbox, door(station), size=PHONE)
        await accessible(page)
        await page.get_by_role("link", name="English").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Waiting for the station's decision")
        await accessible(page)
        for path in ("/desk/inbox", "/desk/changes", "/desk/team", "/desk/dashboard", "/desk/report"):
            await page.goto(path)
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE[0] + 1, f"{path} scrolls sideways on a phone: {width}px"
            await accessible(page)
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Signed out")
        await expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
        await expect(page.get_by_role("navigation")).to_have_count(0)
        await accessible(page)
        await page.go_back()  # the inbox again: signed out, nothing of it shows
        await page.reload()
        await expect(page.get_by_role("table")).to_have_count(0)


def roster(path: Path, rows: int, bad_line: int) -> Path:
    """A roster in the register's columns: `rows` people, the one on `bad_line` with an ID of 11
    digits (rejected with its line)."""
    lines = ["so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,dan_toc,quoc_tich,nghe_nghiep,dien_thoai,ma_xa,"
             "dia_chi,nhom_mau"]
    for n in range(rows):
        line = len(lines) + 1
        personal_id = f"00118{n:06d}" if line == bad_line else f"00118500{n:04d}"
        lines.append(f"{personal_id},Trần Thị Bình,01/02/1985,Nữ,01,VN,Giáo viên,,00070,Số {n} Hàng Bạc,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def count_citizens(db: Database) -> int:
    from sqlalchemy import func, select

    from core.records.citizen import Citizen
    return await db.read(lambda c: c.execute(select(func.count()).select_from(Citizen)).scalar_one())


async def test_an_operator_checks_a_roster_then_imports_it_and_reads_each_rejected_line(
        sandbox: str, sandbox_db: Database, tmp_path: Path) -> None:
    file = roster(tmp_path / "danh-sach-phuong.csv", 3000, bad_line=1234)
    before = await count_citizens(sandbox_db)
    operator = await signin.desk_operator(sandbox_db, StaffRole.OPERATOR, "Nguyễn Quản Trị")
    token = await signin.issue_signin(sandbox_db, operator.id)
    async with chromium() as browser:
        page = await signed_in(browser, sandbox, f"/desk/signin/{token}")
        await page.get_by_role("link", name="Nhập dữ liệu").click()
        await accessible(page)
        await page.get_by_label("Loại tệp").select_option("roster")
        await page.get_by_label("Chỉ kiểm tra").check()
        await page.get_by_label("Tệp dữ liệu").set_input_files(str(file))
        await page.get_by_role("button", name="Tải lên và nhập").click()
        await expect(page.get_by_role("status")).to_have_attribute("data-state", "finished", timeout=60_000)
        await expect(page.get_by_role("main")).to_contain_text("Chưa ghi gì vào hồ sơ")
        assert await count_citizens(sandbox_db) == before  # a dry run writes nothing
        await accessible(page)

        await page.get_by_role("link", name="Tất cả các lần nhập").click()
        await page.get_by_label("Loại tệp").select_option("roster")
        await page.get_by_label("Tệp dữ liệu").set_input_files(str(file))
        await page.get_by_role("button", name="Tải lên và nhập").click()
        await expect(page.get_by_role("status")).to_have_attribute("data-state", "finished", timeout=60_000)
        rejected = page.get_by_role("row").filter(has_text="1234")
        await expect(rejected).to_contain_text("Bị từ chối")
        await expect(page.get_by_role("row").filter(has_text="Tạo mới")).to_contain_text("2.999")
    assert await count_citizens(sandbox_db) == before + 2999


async def active_residents(db: Database, wards: set[str]) -> int:
    from sqlalchemy import func, select

    from core.records.citizen import Citizen
    return await db.read(lambda c: c.execute(select(func.count()).select_from(Citizen).where(
        Citizen.ward_code.in_(wards), Citizen.status == "active")).scalar_one())


async def test_a_health_centre_viewer_sees_its_wards_figures_and_report_and_never_a_person(
        sandbox: str, sandbox_db: Database, tmp_path: Path) -> None:
    import openpyxl

    from core.reporting import centres, figures

    await figures.refresh(sandbox_db)
    people_ = personas(sandbox)
    homes = {p["name"] for p in people_ if p["role"] == "citizen"}
    counted = [(c, await active_residents(sandbox_db, set(c.ward_codes))) for c in await centres(sandbox_db)]
    centre = max(counted, key=lambda found: found[1])[0]
    viewer = await signin.desk_operator(sandbox_db, StaffRole.CENTRE_VIEWER, "Phạm Văn Khoa",
                                        centre_code=centre.code)
    token = await signin.issue_signin(sandbox_db, viewer.id)
    async with chromium() as browser:
        page = await signed_in(browser, sandbox, f"/desk/signin/{token}")
        await expect(page).to_have_url(re.compile(r"/desk/dashboard$"))
        await expect(page.get_by_role("heading", level=1)).to_contain_text(centre.name)
        residents = await active_residents(sandbox_db, set(centre.ward_codes))
        await expect(page.get_by_role("main")).to_contain_text(f"{residents:,}".replace(",", "."))
        shown = await page.get_by_role("main").inner_text()
        assert not any(name in shown for name in homes), "a person's name on a figures page"
        assert not re.search(r"\d{12}|\d{4}\*{4}\d{4}", shown), "a personal ID on a figures page"
        await accessible(page)
        for other in ("/desk/inbox", "/desk/reception", "/desk/changes", "/desk/team"):
            answer = await page.request.get(other)
            assert answer.status == 403, other
        await page.get_by_role("link", name="Báo cáo tháng").click()
        await accessible(page)
        # The month a department files is the one just over; the server's command is the operator's.
        today = today_hanoi()
        last = f"{today.month - 1:02d}/{today.year}" if today.month > 1 else f"12/{today.year - 1}"
        await expect(page.get_by_label("Tháng (tháng/năm)")).to_have_value(last)
        await expect(page.get_by_text("dòng lệnh")).to_have_count(0)
        month = f"{today_hanoi():%m/%Y}"
        await page.get_by_label("Tháng (tháng/năm)").select_option(month)
        async with page.expect_download() as download:
            await page.get_by_role("button", name="Tải bảng tính (XLSX)").click()
        saved = tmp_path / "report.xlsx"
        await (await download.value).save_as(saved)
    sheet = openpyxl.load_workbook(saved, read_only=True).active
    rows = [row for row in sheet.iter_rows(values_only=True) if len(row) > 4 and isinstance(row[1], str)
            and row[1].isdigit()]
    assert {row[1] for row in rows} == set(centre.ward_codes)
    assert sum(row[4] for row in rows) == residents
    total = next(row for row in sheet.iter_rows(values_only=True) if len(row) > 4 and row[2] == "Tổng cộng")
    assert total[4] == residents


async def test_a_newcomer_opens_the_console_from_the_sandbox_page_as_the_health_station(sandbox: str) -> None:
    station = next(p for p in personas(sandbox) if p["role"] == "station")
    async with chat_page(sandbox, width=1100) as page:
        await page.get_by_test_id(f"persona-{station['user_id']}").click()
        async with page.context.expect_page() as opened:
            await page.get_by_test_id("persona-desk").click()
        desk = await opened.value
        await desk.get_by_role("button", name="Đăng nhập bàn làm việc").click()
        await expect(desk.get_by_role("heading", level=1)).to_have_text("Đang chờ trạm y tế quyết định")
        ward = ward_by_code(f"{station['user_id'] - STATION_BASE:05d}")
        assert ward is not None
        await expect(desk.get_by_role("banner")).to_contain_text(ward.name)  # whose station this is
