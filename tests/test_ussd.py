"""Feature phones: scripted USSD sessions over real HTTP, through an emulated operator's gateway.

Every screen the suite is shown is checked by `CheckedOperator` (tests/telegram_world.py):
GSM-7 characters only, 182 at most.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import re

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from bot.config import UssdSettings
from bot.ussd.gateway import USSD_PATH, add_ussd_route
from core.checkin.tokens import CheckinToken
from core.consent.access import read_own_book
from core.consent.grants import consent_history, consent_of
from core.i18n import TIMEZONE
from core.identity.accounts import ChannelAccount
from core.identity.sessions import ChannelSession
from core.records.citizen import Citizen
from core.records.display_rules import BookGroup
from core.records.insurance import InsuranceCard
from core.records.visit import Visit
from core.reference.ethnicities import find_ethnicity
from core.reference.wards import search_wards
from core.seed.demo import DemoResident
from core.text import strip_diacritics
from sandbox.ussd_operator import FeaturePhone, UssdOperator
from tests.telegram_world import TelegramWorld, busiest_resident, receptionist, verify

PIN = "2580"
MENU = "So suc khoe cua toi"  # the first option of the menu of a citizen who acts for nobody else
# (the demo resident "with_visits" is also a parent: after the PIN they choose whose book first)
MORE, BACK = "0. Xem tiep", "00. Quay lai"
PAGING = (MORE, BACK, "0. More", "00. Back")
REFUSAL = "khong khop"  # "These details do not match our records."
LOCKED = "24 gio"
CODE = re.compile(r"\b(\d{4} \d{4})\b")


def born(resident: DemoResident) -> str:
    return resident.birth_date.display().replace("/", "")  # ddmmyyyy, as typed on a keypad


async def sign_up(world: TelegramWorld, resident: DemoResident, pin: str = PIN) -> FeaturePhone:
    """The first call: ID, birth date, then a new PIN twice; ends on the menu."""
    phone = world.feature_phone(resident)
    first = await phone.dial()
    assert "CCCD" in first.text and first.open
    assert "05091960" in (await phone.send(resident.personal_id)).text
    assert "PIN" in (await phone.send(born(resident))).text
    assert "lai" in (await phone.send(pin)).text  # "type the same PIN again"
    assert MENU in (await phone.send(pin)).text
    return phone


async def sign_in(world: TelegramWorld, resident: DemoResident, pin: str = PIN) -> FeaturePhone:
    phone = world.feature_phone(resident)
    assert "PIN" in (await phone.dial()).text
    assert MENU in (await phone.send(pin)).text
    return phone


async def read_all(phone: FeaturePhone) -> str:
    """Every page of the screen shown, turned with 0, without the paging lines."""
    pages = [phone.screen.text]
    while any(line in PAGING[::2] for line in phone.screen.text.split("\n")):
        pages.append((await phone.send("0")).text)
    return "\n".join(line for page in pages for line in page.split("\n") if line not in PAGING)


async def choose(phone: FeaturePhone, label: str) -> str:
    """Turns pages until the option shows, chooses it, and reads the whole answer."""
    while label.lower() not in phone.screen.text.lower() and \
            any(line in PAGING[::2] for line in phone.screen.text.split("\n")):
        await phone.send("0")
    await phone.choose(label)
    return await read_all(phone)


async def linked_account(world: TelegramWorld, citizen_id: int) -> ChannelAccount | None:
    async with world.db.sessions() as session:
        return (await session.execute(select(ChannelAccount).where(
            ChannelAccount.channel == "ussd", ChannelAccount.citizen_id == citizen_id))).scalar_one_or_none()


async def test_first_call_checks_id_birth_date_and_number_then_sets_a_pin(
        any_world: TelegramWorld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    resident = any_world.resident("with_visits")
    await sign_up(any_world, resident)
    account = await linked_account(any_world, resident.citizen_id)
    assert account is not None and account.pin_hash is not None
    assert account.pin_hash.startswith("scrypt$") and PIN not in account.pin_hash
    # The number is the account's key, never stored or logged as it is.
    assert resident.phone is not None and resident.phone not in account.external_id
    logged = caplog.text
    for secret in (resident.personal_id, resident.phone, resident.phone[3:], PIN, resident.full_name):
        assert secret not in logged


async def test_a_later_call_asks_only_for_the_pin_and_a_wrong_one_is_refused(world: TelegramWorld) -> None:
    resident = world.resident("older")
    await sign_up(world, resident)
    phone = world.feature_phone(resident)
    welcome = await phone.dial()
    assert "PIN" in welcome.text and "CCCD" not in welcome.text
    slip = await phone.send("0")  # a stray key is told the PIN's shape, and not counted
    assert "4 den 6 chu so" in slip.text
    wrong = await phone.send("1357")
    assert "khong dung" in wrong.text and MENU not in wrong.text
    assert MENU in (await phone.send(PIN)).text


async def test_a_number_that_is_not_the_records_is_refused_like_a_wrong_birth_date(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    stranger = world.feature_phone("0399999999")  # a mobile that is not on the record
    await stranger.dial()
    await stranger.send(resident.personal_id)
    other_number = await stranger.send(born(resident))
    owner = world.feature_phone(resident)
    await owner.dial()
    await owner.send(resident.personal_id)
    wrong_date = await owner.send("01011950")
    assert REFUSAL in other_number.text
    # Nothing tells which part was wrong, nor that someone else has tried this ID: each phone
    # is told its own tries left.
    assert "Con 4 lan thu" in other_number.text and "Con 4 lan thu" in wrong_date.text
    assert other_number.text == wrong_date.text
    assert await linked_account(world, resident.citizen_id) is None


async def test_short_health_book_shows_general_insurance_allergies_visits_and_immunizations(
        any_world: TelegramWorld) -> None:
    world = any_world
    resident, _ = await busiest_resident(world)
    phone = await sign_up(world, resident)
    async with world.db.sessions() as session:
        card = (await session.execute(select(InsuranceCard.number).where(
            InsuranceCard.citizen_id == resident.citizen_id))).scalars().first()
        visits = (await session.execute(select(Visit.admitted_at).where(
            Visit.citizen_id == resident.citizen_id).order_by(Visit.admitted_at.desc()))).scalars().all()
    assert len(visits) > 3  # the resident has more visits than the short book shows

    await phone.choose("So suc khoe")
    general = await choose(phone, "Thong tin hanh chinh")
    assert f"Ho va ten: {strip_diacritics(resident.full_name)}" in general
    assert f"Ngay sinh: {resident.birth_date.display()}" in general
    await phone.choose("Cac muc")  # back to the sections
    insurance = await choose(phone, "Bao hiem y te")
    assert card is not None and card in insurance
    await phone.choose("Cac muc")
    allergies = await choose(phone, "Di ung va nhom mau")
    assert "Nhom mau" in allergies and "Di ung" in allergies
    await phone.choose("Cac muc")
    last_visits = await choose(phone, "Lan kham gan day")
    newest = [v.astimezone(TIMEZONE).strftime("%d/%m/%Y") for v in visits[:3]]
    shown = [line[2:12] for line in last_visits.split("\n") if line.startswith("- ")]
    assert shown == newest
    assert "Chan doan" in last_visits or "Benh chinh" in last_visits
    for page in phone.pages:  # a visit is never cut from its diagnosis by a page turn
        lines = page.split("\n")
        assert all(lines[i + 1].lstrip().startswith(("Chan doan", "Benh chinh"))
                   for i, line in enumerate(lines[:-1]) if line.startswith("- ")), page
    await phone.choose("Cac muc")
    doses = await choose(phone, "Tiem chung gan day")
    book = await read_own_book(world.db, resident.citizen_id, locale="vi",
                                   only={BookGroup.IMMUNIZATIONS})
    assert book is not None
    expected = [strip_diacritics(entry.title) for entry in book.sections[0].lists[0].entries[:3]]
    assert [line[2:] for line in doses.split("\n") if line.startswith("- ")] == expected


async def test_long_screens_page_with_0_and_go_back_with_00(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    phone = await sign_up(world, resident)
    first_page = phone.screen.text
    assert MORE in first_page and "7." not in first_page  # the menu needs two screens
    second = await phone.send("0")
    assert "7. Tro giup" in second.text and BACK in second.text
    assert (await phone.send("00")).text == first_page
    await phone.send("0")
    help_text = await phone.send("7")  # a number from the second page
    assert "0: xem tiep" in help_text.text.lower()
    # 00 on a first page goes back to the menu.
    assert "Ban muon lam gi?" in (await phone.send("00")).text


async def test_a_number_not_on_the_screen_keeps_the_callers_place_and_00_goes_back_one_screen(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    phone = await sign_up(world, resident)
    first_page = phone.screen.text
    slip = await phone.send("9")  # no 9 on the menu: the same screen, told so
    assert "Vui long bam mot so co tren man hinh" in slip.text and "1. So suc khoe" in slip.text
    assert "chua hieu" not in slip.text
    await phone.send("0")
    assert (await phone.send("00")).text == first_page  # the offered "00" never says "not understood"
    await phone.choose("So suc khoe")
    general = await phone.choose("Thong tin hanh chinh")
    stray = await phone.send("0")  # no "0" on this screen: still the section, not the menu
    assert "Vui long bam mot so" in stray.text and "Xa/phuong" in stray.text
    assert (await phone.send("1")).text.startswith("Hay chon mot muc")  # its options still work
    await phone.choose("Bao hiem y te")
    assert general.text != phone.screen.text
    sections = await phone.send("00")  # back from a section: the book's sections, not the menu
    assert "Hay chon mot muc trong so suc khoe" in sections.text
    assert "Ban muon lam gi" in (await phone.send("00")).text


async def test_help_fits_one_screen_of_a_feature_phone(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    phone = await sign_up(world, resident)
    await phone.send("0")
    shown = await phone.choose("Tro giup")
    assert "0: xem tiep" in shown.text and "tram y te" in shown.text and MORE not in shown.text


async def test_on_the_keypad_consent_choices_come_first_and_a_number_off_screen_changes_nothing(
        world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    phone = await sign_up(world, resident)
    overview = await phone.choose("Co so y te duoc xem gi")
    assert "( ) Tiem chung" in overview.text and "QR" not in overview.text
    await phone.send("0")  # the second page: the toggles are not on it
    assert "Tiem chung" not in phone.screen.text
    assert "Vui long bam mot so" in (await phone.send("2")).text
    assert (await consent_of(world.db, resident.citizen_id)).any_clinic == frozenset()
    await phone.send("00")
    changed = await phone.choose("Tiem chung")
    assert "Da cho phep xem: Tiem chung." in changed.text and "(x) Tiem chung" in changed.text
    stopped = await phone.choose("Tiem chung")
    assert "Da dung cho xem: Tiem chung." in stopped.text and "( ) Tiem chung" in stopped.text
    assert (await consent_of(world.db, resident.citizen_id)).any_clinic == frozenset()


async def test_check_in_code_from_a_feature_phone_opens_the_card_at_a_telegram_reception(
        world: TelegramWorld) -> None:
    resident = world.resident("older")
    phone = await sign_up(world, resident)
    shown = await choose(phone, "Ma kham benh")
    assert phone.screen.kind == "END"  # the code stays on the phone's screen at the desk
    code = CODE.search(shown)
    assert code is not None
    desk, facility = await receptionist(world)
    await desk.send(f"/checkin {code.group(1)}")
    card = await desk.until(lambda m: "Thẻ tiếp đón" in m.text or "Mã này" in m.text)
    assert resident.full_name in card.text
    # No message reaches a feature phone: the citizen reads who viewed the book on the next call.
    later = await sign_in(world, resident)
    viewed = await choose(later, "Lich su truy cap")
    assert f"Nhan vien tiep don, {strip_diacritics(facility)}" in viewed


async def test_consent_changed_on_the_phone_is_the_same_citizens_on_telegram(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    telegram = world.phone()
    await verify(telegram, resident)
    phone = await sign_up(world, resident)
    overview = await choose(phone, "Co so y te duoc xem gi")
    assert "( ) Tien su benh va di ung" in overview
    await phone.choose("Tien su benh va di ung")
    changed = await read_all(phone)
    assert "(x) Tien su benh va di ung" in changed
    assert BookGroup.HISTORY in (await consent_of(world.db, resident.citizen_id)).any_clinic
    # The Telegram account of the same citizen sees the choice made on the keypad.
    await telegram.send("/consent")
    shown = await telegram.until(lambda m: any("Tiền sử bệnh và dị ứng" in label for label in m.labels))
    assert any(label.startswith("✅") and "Tiền sử bệnh và dị ứng" in label for label in shown.labels)


async def test_missing_details_are_chosen_from_lists_on_the_keypad(any_world: TelegramWorld) -> None:
    world = any_world
    resident = world.resident("with_gaps")
    async with world.db.sessions() as session, session.begin():
        await session.execute(update(Citizen).where(Citizen.id == resident.citizen_id).values(
            ethnicity_code=None, ethnicity_code_prov=None, ward_code=None, ward_code_prov=None,
            blood_group=None, blood_group_prov=None))
    phone = await sign_up(world, resident)
    await phone.choose("Bo sung thong tin")
    asked, screen = [], ""
    for _ in range(10):
        screen = await read_all(phone)
        if "Xong roi" in screen:  # "That is all for now. Thank you!"
            break
        if "Dan toc cua ban" in screen:
            asked.append("ethnicity")
            await phone.send("muong")  # exactly one group is named so: taken at once
        elif "Xa/phuong" in screen or "phuong cua ban" in screen.lower():
            asked.append("ward")
            await phone.send("hoan kiem")  # exactly one ward is named so: taken at once
        elif "O Rh+" in screen:
            assert "O Rh-" in screen  # the minus sign kept, as a plain hyphen
            asked.append("blood")
            await phone.choose("O Rh+")
        else:
            break
    assert sorted(asked) == ["blood", "ethnicity", "ward"]
    assert "Da luu: O Rh+ (tu khai bao)" in screen
    async with world.db.sessions() as session:
        citizen = await session.get(Citizen, resident.citizen_id)
    assert citizen is not None
    muong = find_ethnicity("Mường")
    assert muong is not None and citizen.ethnicity_code == muong.code
    assert citizen.ward_code == search_wards("hoan kiem")[0].code
    assert citizen.blood_group is not None and (citizen.blood_group.abo, citizen.blood_group.rh) == ("O", "+")
    book = await read_own_book(world.db, resident.citizen_id, locale="vi",
                                   only={BookGroup.GENERAL})
    assert book is not None
    ethnicity = next(row for row in book.sections[0].rows if row.key == "general.ethnicity")
    assert ethnicity.declared is not None  # marked self-declared in the book


async def test_five_wrong_pins_lock_the_number_and_the_id_on_telegram_too(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    await sign_up(world, resident)
    phone = world.feature_phone(resident)
    await phone.dial()
    for slip in ("0", "00", "12"):  # not PIN-shaped: never counted toward the lockout
        await phone.send(slip)
    for pin in ("1357", "2468", "1470", "3690"):
        assert "khong dung" in (await phone.send(pin)).text
    locked = await phone.send("9753")
    assert locked.kind == "END" and LOCKED in locked.text
    # The right PIN on a new call is refused too.
    again = world.feature_phone(resident)
    refused = await again.dial()
    assert refused.kind == "END" and LOCKED in refused.text
    # The lockout counts per personal ID: Telegram verification of the same ID is paused.
    telegram = world.phone()
    await telegram.send("/start")
    await telegram.until(lambda m: "CCCD" in m.text)
    await telegram.send(resident.personal_id)
    answer = await telegram.until(lambda m: "tạm dừng" in m.text or "ngày/tháng/năm" in m.text)
    assert "tạm dừng" in answer.text and "thử lại từ" in answer.text


async def test_a_weak_pin_is_refused_with_the_reason(world: TelegramWorld) -> None:
    resident = world.resident("older")
    phone = world.feature_phone(resident)
    await phone.dial()
    await phone.send(resident.personal_id)
    await phone.send(born(resident))
    assert "qua de doan" in (await phone.send("1234")).text
    assert "qua de doan" in (await phone.send("0000")).text
    assert "4 den 6 chu so" in (await phone.send("12")).text
    assert await linked_account(world, resident.citizen_id) is None


async def test_a_forgotten_pin_is_replaced_after_verifying_again(world: TelegramWorld) -> None:
    resident = world.resident("older")
    await sign_up(world, resident)
    phone = world.feature_phone(resident)
    await phone.dial()
    await phone.choose("Quen ma PIN")
    assert "CCCD" in phone.screen.text
    await phone.send(resident.personal_id)
    await phone.send(born(resident))
    await phone.send("1357")
    assert MENU in (await phone.send("1357")).text
    old = world.feature_phone(resident)
    await old.dial()
    assert "khong dung" in (await old.send(PIN)).text
    assert MENU in (await old.send("1357")).text


async def test_a_gateway_retry_gets_the_same_screen_and_nothing_happens_twice(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    phone = await sign_up(world, resident)
    operator = phone.operator
    assert phone.session_id is not None
    # Two identical requests at once (the gateway timed out and retried): one toggle, one answer.
    await phone.choose("Co so y te duoc xem gi")
    number = phone.number_of("Tien su benh va di ung")  # on the first screen of the consent
    typed = f"{operator.dials[phone.session_id].text}*{number}"
    form = operator.form(phone.session_id, phone.phone, typed)
    first, second = await asyncio.gather(operator.call(form), operator.call(form))
    assert first == second and first.status == 200
    assert (await operator.call(form)) == first  # and later still the same screen
    assert BookGroup.HISTORY in (await consent_of(world.db, resident.citizen_id)).any_clinic
    assert len(await consent_history(world.db, resident.citizen_id)) == 1
    # The check-in code: a retry of the last step shows the same code and issues no second one.
    operator.dials[phone.session_id].typed.append(number)
    await phone.send("00")
    shown = await choose(phone, "Ma kham benh")
    async with world.db.sessions() as session:
        last_text = await session.scalar(select(ChannelSession.last_text).where(
            ChannelSession.gateway_id == phone.session_id))
    retried = await operator.call(operator.form(phone.session_id, phone.phone, last_text or ""))
    async with world.db.sessions() as session:
        issued = await session.scalar(select(func.count()).select_from(CheckinToken).where(
            CheckinToken.citizen_id == resident.citizen_id))
    assert issued == 1
    code = CODE.search(shown)
    assert code is not None and retried.kind == "END" and code.group(1) in retried.text


async def test_an_idle_session_expires_and_the_next_dial_starts_clean(world: TelegramWorld) -> None:
    resident = world.resident("older")
    phone = await sign_up(world, resident)
    await choose(phone, "Co so y te duoc xem gi")
    await phone.choose("Cho mot co so xem them")  # now typing a clinic's code
    world.gateway.ttl = dt.timedelta(seconds=1)  # as USSD_SESSION_SECONDS=1 would set it
    await asyncio.sleep(1.3)
    late = await phone.send("01806")
    assert late.kind == "END" and "goi lai" in late.text
    async with world.db.sessions() as session:
        row = (await session.execute(select(ChannelSession).where(
            ChannelSession.gateway_id == phone.session_id))).scalar_one()
    assert row.answer is None and row.view is None  # nothing it showed is kept
    world.gateway.ttl = dt.timedelta(seconds=180)
    again = world.feature_phone(resident)
    assert "PIN" in (await again.dial()).text  # a clean start: sign in, not the clinic code
    assert MENU in (await again.send(PIN)).text


async def test_the_gateway_refuses_strangers_bad_requests_and_replays(world: TelegramWorld) -> None:
    resident = world.resident("with_visits")
    operator = world.ussd
    dial = operator.form("s-1", resident.phone or "", "")
    url = f"{world.base_url}{USSD_PATH}"
    async with aiohttp.ClientSession() as http, http.post(url, data=dial) as response:
        assert response.status == 401  # no secret
    assert (await operator.call(dial, secret="not-the-gateway-secret")).status == 401
    assert (await operator.call({"sessionId": "s-1", "text": ""})).status == 400
    assert (await operator.call(operator.form("s-1", "+1 555 0100", ""))).status == 400
    assert (await operator.call(operator.form("s 1; drop", resident.phone or "", ""))).status == 400
    # A session we never started, mid-way: the caller is told to dial again.
    unknown = await operator.call(operator.form("never-started", resident.phone or "", "1*2"))
    assert unknown.kind == "END" and "goi lai" in unknown.text

    phone = await sign_up(world, resident)
    assert phone.session_id is not None
    typed = phone.operator.dials[phone.session_id].text
    older = typed.rsplit("*", 1)[0]
    assert (await operator.call(operator.form(phone.session_id, resident.phone or "", older))).status == 409
    assert (await operator.call(operator.form(phone.session_id, resident.phone or "",
                                              "9*9*9*9*9*9"))).status == 409
    assert (await operator.call(operator.form(phone.session_id, "0399999999", typed + "*1"))).status == 409
    await choose(phone, "Ma kham benh")
    assert phone.screen.kind == "END"
    after_end = typed + "*3*1"
    assert (await operator.call(operator.form(phone.session_id, resident.phone or "", after_end))).status \
        == 409


async def test_only_the_gateways_addresses_may_call_when_an_allow_list_is_set(world: TelegramWorld) -> None:
    async def status_from(networks: str) -> int:
        app = web.Application()
        add_ussd_route(app, world.db, UssdSettings(networks=(ipaddress.ip_network(networks),)))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with aiohttp.ClientSession() as http:
                operator = UssdOperator(f"http://127.0.0.1:{port}{USSD_PATH}", None, http)
                screen = await operator.call(operator.form("allow-1", world.resident().phone or "", ""))
                return screen.status
        finally:
            await runner.cleanup()

    assert await status_from("10.0.0.0/8") == 403
    assert await status_from("127.0.0.0/8") == 200


async def test_english_screens_fit_a_feature_phone_too(world: TelegramWorld) -> None:
    resident = world.resident("older")
    phone = await sign_up(world, resident)
    await choose(phone, "Ngon ngu")
    await phone.choose("English")
    assert "My health book" in await read_all(phone)
    await choose(phone, "My health book")
    general = await choose(phone, "Administrative information")
    assert strip_diacritics(resident.full_name) in general
    await phone.send("00")
    await phone.send("00")
    assert "( ) Medical history and allergies" in await choose(phone, "What clinics may see")
