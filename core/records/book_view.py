"""What one read of a health book may show: the builder obeys it, the access policy decides it.

The record knows how a book is laid out (`display_rules`) but not who may see
what: that is decided once, by the access policy (`core.consent.policy.view_for`),
which hands the builder a `BookView`. Nothing outside the view reaches a book.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from core.records.display_rules import Audience, BookGroup, EntryRule, FieldRule, SectionRule, iter_fields


@dataclass(frozen=True)
class BookView:
    audience: Audience  # whose book this is for: carried into the book, chooses no field itself
    groups: frozenset[BookGroup]  # the sections that may be loaded and shown
    fields: frozenset[str]  # the catalogue keys of every field that may be shown

    def narrowed_to(self, only: Iterable[BookGroup] | None) -> BookView:
        """The same view limited to some sections (a channel showing one section at a time)."""
        return self if only is None else replace(self, groups=self.groups & frozenset(only))

    def shows(self, rule: FieldRule) -> bool:
        return rule.key in self.fields

    def shows_any(self, rule: SectionRule | EntryRule) -> bool:
        return any(f.key in self.fields for f in iter_fields(rule))
