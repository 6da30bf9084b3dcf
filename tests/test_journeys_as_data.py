"""Every journey's cases, kept as data in tests/journeys/, run on the engine (tests/journey_cases.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.flows import registry
from tests.journey_cases import CASES, CaseRun, all_cases, load


@pytest.mark.parametrize("case", all_cases(), ids=lambda case: f"{case['journey']}: {case['name']}")
async def test_journey_case(case: dict[str, Any], seeded_sqlite: Path, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Where the bot's /desk sends staff (bot/flows/desk_link.py): the cases read it back.
    monkeypatch.setenv("EHR_DESK_URL", "https://desk.test")
    await CaseRun(seeded_sqlite, tmp_path).run(case)


def test_every_journey_has_its_cases_and_a_double_tap_among_them() -> None:
    files = {path.stem: load(path) for path in CASES.glob("*.json")}
    journeys = {journey.name for journey in registry.journeys()}
    assert journeys <= set(files), f"journeys without cases: {sorted(journeys - set(files))}"
    for name, cases in files.items():
        taps = [step for case in cases for step in case["steps"] if step.get("twice")]
        assert taps, f"{name}: no case taps one of its buttons twice"
