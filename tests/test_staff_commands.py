"""The operator's staff commands, run as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from core.config import PROJECT_ROOT
from core.db import Database
from core.identity import accounts
from core.records.facility import Facility
from core.staff import service
from core.staff.model import StaffInvite, StaffRole


def command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=60, env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin",
                                                      "EHR_LANG": "en",
                                                      # the key the bot under test runs with
                                                      "EHR_SECRET_KEY": os.environ["EHR_SECRET_KEY"]})


async def test_an_operator_invites_lists_and_revokes_reception_staff(seeded_sqlite: Path,
                                                                     tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, path)
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    try:
        async with db.sessions() as session:
            facility = await session.scalar(select(Facility.code).limit(1))
        refused = command(url, "staff", "invite", "--role", "receptionist", "--facility", "01999")
        assert refused.returncode == 2 and "01999" in refused.stderr
        made = command(url, "staff", "invite", "--role", "receptionist", "--facility", facility,
                       "--name", "Lê Thu")
        assert made.returncode == 0, made.stderr
        code = made.stdout.strip().splitlines()[-1].removeprefix("/start staff_")
        account = await db.write(accounts.open_account, "telegram", "77")
        assert await service.accept(db, code, account.id) is not None
        listed = command(url, "staff", "list")
        assert "Lê Thu" in listed.stdout and facility not in listed.stdout.split("Lê Thu")[1]
        staff_id = listed.stdout.split()[0]
        assert command(url, "staff", "revoke", staff_id).returncode == 0
        assert await service.active_staff(db, account.id) is None
        assert command(url, "staff", "revoke", staff_id).returncode == 2  # nothing left to revoke
    finally:
        await db.dispose()


async def test_an_expired_or_revoked_invite_does_nothing(db: Database) -> None:
    from tests.records import make_full_record

    await make_full_record(db)  # brings a facility along
    async with db.sessions() as session:
        facility = await session.scalar(select(Facility.code).limit(1))
    account = await db.write(accounts.open_account, "telegram", "1")
    expired = await service.invite(db, StaffRole.RECEPTIONIST, facility_code=facility)
    async with db.transaction() as session:
        await session.execute(update(StaffInvite).where(StaffInvite.id == expired.id)
                              .values(expires_at=StaffInvite.created_at))
    assert await service.accept(db, expired.code, account.id) is None
    revoked = await service.invite(db, StaffRole.RECEPTIONIST, facility_code=facility)
    assert await service.revoke_invite(db, revoked.id)
    assert await service.accept(db, revoked.code, account.id) is None
    assert await service.active_staff(db, account.id) is None


async def test_the_first_operator_gets_a_console_link_that_signs_in_once_where_the_sandbox_runs(
        seeded_sqlite: Path, tmp_path: Path) -> None:
    import shutil

    from core.marks import SANDBOX_URL, put_mark
    from core.staff import desk

    path = tmp_path / "ehr.sqlite3"
    shutil.copyfile(seeded_sqlite, path)
    url = f"sqlite+aiosqlite:///{path}"
    db = Database(url)
    try:
        await db.write(put_mark, SANDBOX_URL, "http://127.0.0.1:8095")  # `make run PORT=8095`
        refused = command(url, "desk", "operator", "--name", "Hoa", "--role", "centre_viewer")
        assert refused.returncode == 2 and "centre" in refused.stderr
        made = command(url, "desk", "operator", "--name", "Nguyễn Thị Hoa")
        assert made.returncode == 0, made.stderr
        link = made.stdout.strip().splitlines()[-1]
        assert link.startswith("http://127.0.0.1:8095/desk/signin/"), link
        token = link.rsplit("/", 1)[1]
        opened = await desk.redeem_signin(db, token)
        assert opened is not None and opened.staff.role is StaffRole.OPERATOR
        assert opened.staff.name == "Nguyễn Thị Hoa"
        assert await desk.redeem_signin(db, token) is None  # once only
        again = command(url, "desk", "link", "--staff", str(opened.staff.id))
        assert again.returncode == 0 and "/desk/signin/" in again.stdout
        assert command(url, "desk", "link", "--staff", "999999").returncode == 2
        # Asked again for the same person: a new link for the same member, not a second operator.
        twice = command(url, "desk", "operator", "--name", "Nguyễn Thị Hoa")
        assert twice.returncode == 0, twice.stderr
        second = await desk.redeem_signin(db, twice.stdout.strip().splitlines()[-1].rsplit("/", 1)[1])
        assert second is not None and second.staff.id == opened.staff.id
        other = command(url, "desk", "operator", "--name", "Trần Văn Nam")
        third = await desk.redeem_signin(db, other.stdout.strip().splitlines()[-1].rsplit("/", 1)[1])
        assert third is not None and third.staff.id != opened.staff.id
    finally:
        await db.dispose()
