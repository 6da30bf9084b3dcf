"""Personal ID numbers and phone numbers never reach a log line; health data never does."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from core.db import Database
from core.privacy import (
    RedactingFilter,
    configure_logging,
    mask_card,
    mask_identifiers,
    mask_personal_id,
    mask_phone,
)
from tests.records import EMPTY_ID, make_empty_record


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_personal_id("001090001234") == "0010****1234"
    assert mask_phone("+84912345678") == "+849****678"
    assert mask_card("DN4010123456789") == "DN401******6789"
    assert mask_personal_id(None) == mask_phone("") == "-"


def test_a_careless_log_line_is_masked_before_it_is_written() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1,
                               "verifying %s with phone %s", ("001090001234", "0912 345 678"), None)
    RedactingFilter().filter(record)
    text = record.getMessage()
    assert "001090001234" not in text and "0912 345 678" not in text and "345" not in text


def test_imports_log_no_ids_phones_or_diagnoses(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}",
           "LOG_LEVEL": "DEBUG", "EHR_LANG": "en"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core", *args], env=env, capture_output=True,
                              text=True, timeout=300, check=False)

    assert run("migrate").returncode == 0
    export = tmp_path / "export"
    seeded = run("seed", "--people", "60", "--seed", "4", "--export", str(export))
    assert seeded.returncode == 0, seeded.stderr
    roster = (export / "roster.csv").read_text(encoding="utf-8").splitlines()[1:]
    ids = [line.split(",")[0] for line in roster]
    phones = [line.split(",")[7] for line in roster if line.split(",")[7]]
    logs = seeded.stderr
    for path in ("roster.csv", "immunizations.csv"):
        logs += run(f"import-{path.split('.')[0]}", str(export / path)).stderr
    logs += run("import-xml", *map(str, sorted((export / "xml").glob("*.xml")))).stderr
    assert logs.count("import run") >= 3  # logging was on, and said what the operator needs
    for secret in ids + phones + ["Tăng huyết áp", "Amlodipin", "Paracetamol"]:
        assert secret not in logs


# --- What the log filter masks, and what it leaves readable ---------------------------

@pytest.fixture
def service_log() -> Iterator[Callable[[], str]]:
    """The service's own logging set-up (`configure_logging`); returns what it wrote so far."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("INFO")
    written = io.StringIO()
    for handler in root.handlers:  # the handler as configured, writing here instead of stderr
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(written)
    try:
        yield written.getvalue
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


async def test_a_traceback_in_the_log_shows_no_personal_id_or_phone(
        db: Database, service_log: Callable[[], str]) -> None:
    await make_empty_record(db)
    log = logging.getLogger("core.identity.linking")
    try:
        try:
            await make_empty_record(db)  # the same personal ID again: the database refuses it
        except IntegrityError as refused:
            raise LookupError(f"no account for {EMPTY_ID} (phone +84 912 345 678)") from refused
    except LookupError:
        log.exception("linking failed")
    written = service_log()
    # Still a useful traceback: both exceptions, where they were raised, and why.
    assert "ERROR core.identity.linking: linking failed" in written
    assert "Traceback (most recent call last)" in written
    assert "IntegrityError" in written and "LookupError: no account for 001****777" in written
    assert "test_a_traceback_in_the_log_shows_no_personal_id_or_phone" in written
    assert re.search(r'File ".*test_privacy\.py", line [0-9]+', written)
    if db.url.startswith("postgresql"):  # asyncpg's DETAIL names the key's value
        assert "Key (personal_id)=(001****777) already exists" in written
    for secret in (EMPTY_ID, "912 345 678", "912345678"):
        assert secret not in written


def test_an_exception_logged_as_text_and_a_stack_are_masked_too(service_log: Callable[[], str]) -> None:
    log = logging.getLogger("bot.handlers")
    try:
        int("0912.345.678")
    except ValueError as error:
        log.error("could not read %s", error, exc_info=error)
    log.warning("stack of the call for 001090001234", stack_info=True)
    written = service_log()
    assert "invalid literal for int() with base 10: '091****678'" in written
    assert "Stack (most recent call last)" in written
    for secret in ("0912.345.678", "001090001234"):
        assert secret not in written


def test_a_malformed_log_call_is_reported_with_its_values_masked_and_does_not_raise(
        service_log: Callable[[], str], capsys: pytest.CaptureFixture[str]) -> None:
    service = logging.getLogger().handlers[0]
    log = logging.getLogger("core.malformed")
    log.propagate, log.handlers = False, [service]  # only the service's handler sees it
    try:
        log.info("ID %d", EMPTY_ID)  # %d of a string: logging reports its own error
    finally:
        log.propagate, log.handlers = True, []
    reported = capsys.readouterr().err  # logging's report of the error goes to stderr
    assert "--- Logging error ---" in reported and "TypeError" in reported
    assert "Arguments: ('001****777',)" in reported
    assert EMPTY_ID not in reported + service_log()


@pytest.mark.parametrize(("written", "masked"), [
    ("001090001234", "001****234"),
    ("001 090 001 234", "001****234"),
    ("001.090.001.234", "001****234"),
    ("001-090-001-234", "001****234"),
    ("0912345678", "091****678"),
    ("0912 345 678", "091****678"),
    ("0912.345.678", "091****678"),
    ("0912-345-678", "091****678"),
    ("+84912345678", "+84****678"),
    ("+84 912 345 678", "+84****678"),
    ("84 912 345 678", "849****678"),
    ("(+84) 912 345 678", "(+84****678"),
    ("Key (personal_id)=(001090001234) already exists", "Key (personal_id)=(001****234) already exists"),
    ("id001090001234, sđt:0912345678.", "id001****234, sđt:091****678."),
    ("2025-01-15 001090001234", "2025-01-15 001****234"),
    ("card DN4010123456789", "card DN401****789"),
])
def test_ids_phones_and_cards_written_in_any_common_way_are_masked(written: str, masked: str) -> None:
    assert mask_identifiers(written) == masked


@pytest.mark.parametrize("written", [
    "2025-01-15 10:23:45,123 INFO core: started",
    "at 2025-01-15T10:23:45.123456+07:00",
    "15-01-2025 10:23 and 15.01.2025 10:23",
    'File "/srv/ehr/core/records/imports/roster.py", line 1234, in apply_chunk',
    "could not connect to 192.168.100.200:5432",
    "import run 12 finished in 3.5 s: read 100000, created 99990, rejected 10",
    "born 15/07/1990",
])
def test_timestamps_line_numbers_addresses_and_counts_stay_readable(written: str) -> None:
    assert mask_identifiers(written) == written
