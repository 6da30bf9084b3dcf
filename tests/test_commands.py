"""The operator's commands: book, seed, serve, quarantine, and their errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.privacy import mask_personal_id
from core.seed import demo_residents, generate_city


def cli(database: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", "EHR_LANG": lang}
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    database = tmp_path_factory.mktemp("cli") / "ehr.sqlite3"
    assert cli(database, "migrate").returncode == 0
    result = cli(database, "seed", "--people", "120", "--seed", "3", "--as-of", "01/11/2026")
    assert result.returncode == 0, result.stderr
    assert "120 residents" in result.stdout
    # The hint names a demo resident masked, as every printed output does; the full ID is the
    # one the seed picks for the sandbox page.
    assert not re.search(r"[0-9]{12}", result.stdout)
    city = generate_city(120, 3, dt.date(2026, 11, 1))
    demo = demo_residents(city)[0]
    assert mask_personal_id(demo) in result.stdout
    return database, demo


def test_book_prints_the_health_book_in_vietnamese_by_default(seeded: tuple[Path, str]) -> None:
    database, demo = seeded
    result = cli(database, "book", demo, lang="vi")
    assert result.returncode == 0, result.stderr
    assert "== Thông tin hành chính ==" in result.stdout
    assert "== Lịch sử khám chữa bệnh ==" in result.stdout


def test_book_json_for_a_volunteer_has_only_general_fields(seeded: tuple[Path, str]) -> None:
    database, demo = seeded
    result = cli(database, "book", demo, "--audience", "volunteer", "--json")
    book = json.loads(result.stdout)
    assert [s["group"] for s in book["sections"]] == ["general"]
    keys = {row["key"] for row in book["sections"][0]["rows"]}
    assert "general.personal_id" not in keys and "general.phone" not in keys
    assert demo not in result.stdout


def test_book_for_an_unknown_or_malformed_id(seeded: tuple[Path, str]) -> None:
    database, _ = seeded
    unknown = cli(database, "book", "001099999999")
    assert unknown.returncode == 1 and "No resident has this personal ID" in unknown.stderr
    malformed = cli(database, "book", "12345")
    assert malformed.returncode == 2 and "12 digits" in malformed.stderr


def test_seed_if_empty_leaves_a_seeded_database_alone(seeded: tuple[Path, str]) -> None:
    database, _ = seeded
    again = cli(database, "seed", "--people", "50", "--if-empty")
    assert again.returncode == 0 and "nothing seeded" in again.stdout


def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    result = cli(tmp_path / "new.sqlite3", "completeness")
    assert result.returncode == 2
    assert "python -m core migrate" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_probes_over_http(seeded: tuple[Path, str]) -> None:
    database, demo = seeded
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    server = subprocess.Popen([sys.executable, "-m", "core", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the service did not answer")
        assert health["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
            page = r.read().decode()
        assert "120 người dân" in page
        assert demo not in page  # no personal data on the status page
    finally:
        server.terminate()
        server.wait(timeout=10)


def _household(database: Path) -> dict[str, tuple[str, str, str]]:
    """The seeded demo household: kind -> (personal ID, birth date dd/mm/yyyy, full name)."""
    with sqlite3.connect(database) as connection:
        marks = dict(connection.execute("SELECT name, value FROM database_marks"))
        chosen = dict(item.split(":")[::-1] for item in marks["demo_personas"].split(","))
        found = {}
        for citizen_id, kind in chosen.items():
            pid, born, name = connection.execute(
                "SELECT personal_id, birth_date, full_name FROM citizens WHERE id = ?",
                (citizen_id,)).fetchone()
            year, month, day = born.split("-")
            found[kind] = (pid, f"{day}/{month}/{year}", name)
    return found


def test_a_station_sets_up_a_proxy_in_person_lists_it_and_withdraws_it(seeded: tuple[Path, str]) -> None:
    database, _demo = seeded
    people = _household(database)
    (elder_id, elder_born, _), (helper_id, helper_born, helper) = people["elder"], people["with_visits"]
    args = ["--grantor", elder_id, "--grantor-birth", elder_born]

    refused = cli(database, "proxy", "grant", *args, "--proxy", helper_id, "--proxy-birth", "01/01/1901",
                  "--by", "Nguyễn Thị Trạm", lang="vi")
    assert refused.returncode == 2 and "Không có người dân nào" in refused.stderr
    no_name = cli(database, "proxy", "grant", *args, "--proxy", helper_id, "--proxy-birth", helper_born,
                  "--by", "  ")
    assert no_name.returncode == 2 and "--by" in no_name.stderr

    made = cli(database, "proxy", "grant", *args, "--proxy", helper_id, "--proxy-birth", helper_born,
               "--powers", "read,show_qr", "--by", "Nguyễn Thị Trạm", lang="vi")
    assert made.returncode == 0, made.stderr
    assert mask_personal_id(helper_id) in made.stdout and helper_id not in made.stdout
    grant_id = re.search(r"Ủy quyền (\d+):", made.stdout).group(1)

    listed = cli(database, "proxy", "list", *args, lang="vi")
    assert f"Ủy quyền {grant_id}: {helper}, xem sổ sức khỏe, đưa mã tiếp đón" in listed.stdout

    gone = cli(database, "proxy", "withdraw", grant_id, *args, lang="vi")
    assert gone.returncode == 0 and "có hiệu lực ngay" in gone.stdout
    again = cli(database, "proxy", "withdraw", grant_id, *args)
    assert again.returncode == 2
    assert f"Ủy quyền {grant_id}:" not in cli(database, "proxy", "list", *args, lang="vi").stdout
