"""Applying new demographic values to a citizen, with provenance and history.

The one place where `core.records.provenance.decide` meets the citizen row:
importers, the seed and (later) the chat flows all go through `merge_fields`,
so a self-declared value can never silently replace an official one anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.records.citizen import DEMOGRAPHIC_FIELDS
from core.records.provenance import Decision, Source, decide, may_supply
from core.values import BloodGroup, CitizenStatus, PartialDate


def serialize(value: Any) -> str | None:
    """A field value as text for the field history."""
    if value is None:
        return None
    if isinstance(value, PartialDate | BloodGroup):
        return value.iso() if isinstance(value, PartialDate) else value.code()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return str(value)


def _status_date(status: Any, incoming: Mapping[str, Any], current: dt.date | None,
                 decision: Decision, now: dt.datetime) -> dt.date | None:
    """The date a status took effect: as given, else kept when confirmed, else today;
    "active" needs none."""
    if incoming.get("status_date"):
        return incoming["status_date"]
    if decision is Decision.CONFIRM:
        return current
    return None if status is CitizenStatus.ACTIVE else now.date()


@dataclass
class Merge:
    """What applying one source's values to one citizen does."""

    updates: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    decisions: dict[str, Decision] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.updates)

    def kept(self) -> list[str]:
        """Fields where the value offered was not applied (an official value stands)."""
        return [name for name, d in self.decisions.items() if d is Decision.KEEP]


def merge_fields(
    current: Mapping[str, Any] | Any | None,
    incoming: Mapping[str, Any],
    source: Source,
    provenance_id: int,
    current_sources: Mapping[int, Source],
    now: dt.datetime,
    citizen_id: int | None = None,
) -> Merge:
    """Decides each incoming field against the current row (a mapping or a Core row).

    `incoming` holds field names of `DEMOGRAPHIC_FIELDS` (absent or None: the source
    says nothing about that field; absence is not evidence, so it never clears a
    value). `status_date` travels with `status`.
    """
    merge = Merge()
    if current is None:  # a new citizen: every value given fills an empty field
        for name in DEMOGRAPHIC_FIELDS:
            new = incoming.get(name)
            if new is not None and not may_supply(name, source):
                merge.decisions[name] = Decision.REFUSED
            elif new is not None:
                merge.updates[name] = new
                merge.updates[f"{name}_prov"] = provenance_id
                merge.decisions[name] = Decision.SET
        if "status" in merge.updates:
            merge.updates["status_date"] = _status_date(
                merge.updates["status"], incoming, None, Decision.SET, now)
        return merge

    def current_value(name: str) -> Any:
        if current is None:
            return None
        if isinstance(current, Mapping):
            return current.get(name)
        return getattr(current, name)

    for name in DEMOGRAPHIC_FIELDS:
        new = incoming.get(name)
        if new is None:
            continue
        if not may_supply(name, source):
            merge.decisions[name] = Decision.REFUSED
            continue
        old = current_value(name)
        old_prov = current_value(f"{name}_prov")
        decision = decide(old, current_sources.get(old_prov) if old_prov else None, new, source)
        merge.decisions[name] = decision
        if decision in (Decision.UNCHANGED, Decision.KEEP):
            continue
        merge.updates[name] = new
        merge.updates[f"{name}_prov"] = provenance_id
        if name == "status":
            merge.updates["status_date"] = _status_date(
                new, incoming, current_value("status_date"), decision, now)
        if old is not None:  # the history keeps earlier values; a filled gap had none
            merge.history.append({
                "citizen_id": citizen_id,
                "field": name,
                "old_value": serialize(old),
                "old_provenance_id": old_prov,
                "new_value": serialize(new),
                "new_provenance_id": provenance_id,
                "changed_at": now,
            })
    return merge
