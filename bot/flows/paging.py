"""Long lists a page at a time: one helper for every journey that pages (visits, the worklist)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.flows.actions import Action
from bot.flows.replies import Option
from bot.flows.turn import Turn

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int  # 0-based
    pages: int
    first: int  # index of the page's first item in the whole list
    total: int

    @classmethod
    def of(cls, items: Sequence[T], page: int, per_page: int) -> Page[T]:
        """The page asked for, kept within the list (an old button after the list shrank)."""
        total = len(items)
        pages = max(1, (total + per_page - 1) // per_page)
        page = min(max(page, 0), pages - 1)
        first = page * per_page
        return cls(items[first:first + per_page], page, pages, first, total)

    def navigation(self, turn: Turn, to: Callable[[int], Action], *,
                   newer_older: bool = False) -> list[tuple[Option, ...]]:
        """A row with the buttons to the page before and after, where there are such pages."""
        back, forward = (turn._("◀ Newer"), turn._("Older ▶")) if newer_older else \
            (turn._("◀ Previous"), turn._("Next ▶"))
        row = []
        if self.page > 0:
            row.append(Option(back, to(self.page - 1)))
        if self.page < self.pages - 1:
            row.append(Option(forward, to(self.page + 1)))
        return [tuple(row)] if row else []

    def visits_said(self, turn: Turn) -> str:
        """How many visits, and which of them this page holds ("1–2 of 2" only when paged)."""
        if self.pages == 1:
            return turn._("Visits: {total}, newest first. Choose one to see its details.",
                          total=self.total)
        return turn._("Visits {first}–{last} of {total}, newest first. Choose one to see its "
                      "details.", first=self.first + 1, last=self.first + len(self.items),
                      total=self.total)
