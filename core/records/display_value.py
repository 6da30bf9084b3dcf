"""One detail of a citizen, shown as the health book shows it, wherever else it is shown.

A value the citizen confirms (a correction they ask for, what a volunteer entered with them,
a notice of a decision) and the station's lists show `01/02/1960`, `Nam`, `Kinh`: the book's
own formatter for that field (`display_rules`), never the stored form (`1960-02-01`, `1`, `01`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

from core.i18n import N_, Translator
from core.privacy import mask_phone
from core.records.citizen import DECLARED_ONLY_FIELDS
from core.records.completeness import RULES_BY_FIELD
from core.records.display_format import BookFormat, Formatter, as_phone, as_text
from core.records.display_rules import CATALOGUE, emergency_contact, iter_fields
from core.validation import phone_national
from core.values import BloodGroup, PartialDate, Sex

# Stored as text (`register.serialize`, a request's or an entry's column), read back by field.
_RESTORE = {
    "birth_date": PartialDate.from_iso,
    "sex": lambda text: Sex(int(text)),
    "blood_group": BloodGroup.from_code,
}
# Parts of one book line (the emergency contact), shown on their own.
_PARTS: dict[str, Formatter] = {"emergency_contact_phone": as_phone}
_PART_LABELS = {"emergency_contact_relation": N_("Relation"), "emergency_contact_phone": N_("Phone")}


@cache
def _formatters() -> dict[str, Formatter]:
    """The book's formatter of each citizen detail, by the record's field name."""
    found = dict(_PARTS)
    for section in CATALOGUE:
        for rule in iter_fields(section):
            if rule.provenance_field and rule.provenance_field not in found:
                found[rule.provenance_field] = rule.format
    return found


def restore(field: str, stored: str) -> Any:
    """A detail's value from its stored text (`1960-02-01` -> the partial date)."""
    read = _RESTORE.get(field)
    return read(stored) if read else stored


def shown(field: str, value: Any, t: Translator) -> str:
    """The value as the book shows it to this reader: `01/02/1960`, `Nam`, `Kinh`."""
    return _formatters().get(field, as_text)(value, BookFormat(t, {}))


def shown_stored(field: str, stored: str, t: Translator) -> str:
    """`shown` for a value kept as text; text that no longer reads as its field is shown as kept."""
    try:
        value = restore(field, stored)
    except ValueError:
        return stored
    return shown(field, value, t)


def detail_label(field: str) -> str:
    """The detail's name (a catalogue msgid): `Ethnicity`, `Relation`."""
    rule = RULES_BY_FIELD.get(field)
    return rule.label if rule else _PART_LABELS.get(field, field)


def contact_shown(contact: Mapping[str, str | None], *, masked: bool = False) -> str:
    """An emergency contact (name, relation, phone) as the book's one line shows it; `masked`:
    the phone number as a station's list shows numbers (`0912****678`)."""
    row = SimpleNamespace(**{part: contact.get(part) for part in DECLARED_ONLY_FIELDS})
    shown_phone = (lambda p: mask_phone(phone_national(p))) if masked else phone_national
    return emergency_contact(row, shown_phone) or ""
