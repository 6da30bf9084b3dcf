"""Rotating EHR_SECRET_KEY: what was keyed under the old key keeps working while it is the previous one.

The test run's own key (conftest) plays the old key; each test sets a new one with the old as
EHR_SECRET_KEY_PREVIOUS, then retires the old one to show which key did the work.
"""

from __future__ import annotations

import os
import secrets

import pytest
from sqlalchemy import select

from core.checkin import tokens
from core.checkin.tokens import CheckinState
from core.db import Database
from core.i18n import now_utc
from core.identity import accounts, keys, pins
from core.identity.accounts import ChannelAccount
from core.staff import service as staff
from core.staff.model import StaffRole
from tests.records import make_full_record
from tests.telegram_world import TelegramWorld
from tests.test_ussd import MENU, sign_in, sign_up

NEW_KEY = secrets.token_hex(32)


def rotate(monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's rotation: the new key in EHR_SECRET_KEY, the old one as the previous."""
    old = os.environ["EHR_SECRET_KEY"]
    monkeypatch.setenv("EHR_SECRET_KEY_PREVIOUS", old)
    monkeypatch.setenv("EHR_SECRET_KEY", NEW_KEY)
    return old


def retire_previous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EHR_SECRET_KEY_PREVIOUS")


async def stored_pin(world: TelegramWorld, citizen_id: int) -> str:
    async with world.db.sessions() as session:
        return (await session.scalars(select(ChannelAccount.pin_hash).where(
            ChannelAccount.channel == "ussd", ChannelAccount.citizen_id == citizen_id))).one()


async def test_a_pin_set_under_the_old_key_signs_in_during_rotation_and_is_rehashed_under_the_new(
        any_world: TelegramWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    older, other = any_world.resident("older"), any_world.resident("with_visits")
    await sign_up(any_world, older)
    await sign_up(any_world, other)
    before = await stored_pin(any_world, older.citizen_id)
    rotate(monkeypatch)
    await sign_in(any_world, older)  # the account found by its number under the old key, the PIN too
    after = await stored_pin(any_world, older.citizen_id)
    assert after != before and after.endswith("$" + keys.key_id(NEW_KEY.encode()))
    retire_previous(monkeypatch)
    await sign_in(any_world, older)  # re-hashed and re-keyed: the old key is no longer needed
    # Who did not call during the rotation is a stranger to the new key: verified again, as new.
    phone = any_world.feature_phone(other)
    first = await phone.dial()
    assert "CCCD" in first.text and MENU not in first.text


async def test_a_wrong_pin_during_rotation_is_still_wrong(any_world: TelegramWorld,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    resident = any_world.resident("older")
    await sign_up(any_world, resident)
    before = await stored_pin(any_world, resident.citizen_id)
    rotate(monkeypatch)
    phone = any_world.feature_phone(resident)
    await phone.dial()
    assert "khong dung" in (await phone.send("9731")).text
    assert await stored_pin(any_world, resident.citizen_id) == before  # nothing re-hashed on a failure


def test_a_pin_hash_names_its_key_and_only_that_key_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    stored = pins.hash_pin("2580")
    old = rotate(monkeypatch)
    assert stored.rsplit("$", 1)[1] == keys.key_id(old.encode())
    assert pins.pin_matches("2580", stored) and pins.pin_needs_rehash(stored)
    assert not pins.pin_matches("2581", stored)
    fresh = pins.hash_pin("2580")
    assert not pins.pin_needs_rehash(fresh)
    retire_previous(monkeypatch)
    assert not pins.pin_matches("2580", stored) and pins.pin_matches("2580", fresh)
    # A hash from before hashes named their key is tried under each configured key.
    legacy = fresh.rsplit("$", 1)[0]
    assert pins.pin_matches("2580", legacy) and pins.pin_needs_rehash(legacy)


async def _by_code(db: Database, code: str) -> tokens.ResolvedCheckin:
    return await db.read(tokens.resolve, "code_hash", tokens.code_digest(code), now_utc())


async def _by_link(db: Database, token: str) -> tokens.ResolvedCheckin:
    return await db.read(tokens.resolve, "token_hash", tokens.token_digest(token), now_utc())


async def test_a_check_in_code_issued_under_the_old_key_still_opens_during_rotation(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    citizen_id = await make_full_record(db)
    issued = await tokens.issue(db, citizen_id, "telegram")
    rotate(monkeypatch)
    by_code = await _by_code(db, issued.spoken_code)
    by_link = await _by_link(db, issued.token)
    assert (by_code.state, by_code.citizen_id) == (CheckinState.VALID, citizen_id)
    assert (by_link.state, by_link.citizen_id) == (CheckinState.VALID, citizen_id)
    newer = await tokens.issue(db, citizen_id, "telegram")  # under the new key; the old one revoked
    assert (await _by_code(db, issued.code)).state is CheckinState.REVOKED
    retire_previous(monkeypatch)
    assert (await _by_code(db, newer.code)).state is CheckinState.VALID
    assert (await _by_code(db, issued.code)).state is CheckinState.UNKNOWN


async def test_a_staff_invite_printed_before_the_rotation_still_binds(db: Database,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = await staff.invite(db, StaffRole.VOLUNTEER, ward_code="00070", name="Lê Thu")
    unused = await staff.invite(db, StaffRole.VOLUNTEER, ward_code="00070", name="Trần An")
    rotate(monkeypatch)
    account = await db.write(accounts.open_account, "telegram", "4503599627370501")
    assert await staff.accept(db, before.code, account.id) is not None
    retire_previous(monkeypatch)
    other = await db.write(accounts.open_account, "telegram", "4503599627370502")
    assert await staff.accept(db, unused.code, other.id) is None  # its key is gone: use a new invite


def test_personal_id_fingerprints_under_every_key_for_counting_attempts(
        monkeypatch: pytest.MonkeyPatch) -> None:
    old_fingerprint = keys.personal_id_key("001099000001")
    assert keys.personal_id_keys("001099000001") == (old_fingerprint,)
    rotate(monkeypatch)
    current, previous = keys.personal_id_keys("001099000001")
    assert previous == old_fingerprint and current == keys.personal_id_key("001099000001") != previous
    retire_previous(monkeypatch)
    assert keys.personal_id_keys("001099000001") == (current,)


def test_a_short_or_missing_key_is_refused_with_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHR_SECRET_KEY", "x" * 31)
    with pytest.raises(keys.SecretKeyError) as short:
        keys.secret_key()
    assert "31" in str(short.value) and "secrets.token_hex(32)" in str(short.value)
    monkeypatch.delenv("EHR_SECRET_KEY")
    monkeypatch.setattr(keys, "_local_allowed", False)
    with pytest.raises(keys.SecretKeyError) as missing:
        keys.personal_id_key("001099000001")
    assert "EHR_SECRET_KEY is not set" in str(missing.value)
    monkeypatch.setenv("EHR_SECRET_KEY", "x" * 32)
    assert keys.secret_key() == b"x" * 32
