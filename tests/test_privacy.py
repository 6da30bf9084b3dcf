"""Personal ID numbers and phone numbers never reach a log line; health data never does."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from core.privacy import RedactingFilter, mask_card, mask_personal_id, mask_phone


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
