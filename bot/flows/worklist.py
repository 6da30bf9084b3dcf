"""`/worklist`: the residents of a volunteer's ward with details missing, most missing first, each
with the details to fill in or check (named by the completeness rules,
core.records.completeness)."""

from __future__ import annotations

from bot.flows.actions import Action, Open, declare
from bot.flows.details import field_names
from bot.flows.paging import Page
from bot.flows.registry import Journey, Requires
from bot.flows.replies import Option, Reply, Step
from bot.flows.turn import Turn
from core.i18n import N_
from core.reference.wards import ward_by_code
from core.volunteering.residents import WorkItem, worklist

PER_PAGE = 10


ShowPage = declare("worklist", "p", "ShowPage", page=int)


class WorklistFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        return await self._page(turn, 0)

    async def on_action(self, turn: Turn, chosen: Action) -> Step:
        return await self._page(turn, chosen.page if isinstance(chosen, ShowPage) else 0)

    async def _page(self, turn: Turn, page: int) -> Step:
        assert turn.staff is not None and turn.staff.ward_code is not None  # a volunteer of a ward
        listed = await worklist(turn.db, turn.staff.ward_code, page, PER_PAGE)
        ward = ward_by_code(turn.staff.ward_code)
        title = turn._("Residents to help: {ward}", ward=ward.name if ward else turn.staff.ward_code)
        if not listed.total:
            return Step((Reply(turn._("Every resident of your ward has complete details."), title=title),))
        shown = Page(listed.items, listed.page, listed.pages, listed.page * PER_PAGE, listed.total)
        lines = [self._line(turn, item) for item in shown.items]
        lines.append(turn._("Page {page} of {pages} ({total} residents).", page=shown.page + 1,
                            pages=shown.pages, total=shown.total))
        options = (*shown.navigation(turn, ShowPage), (Option(turn._("🔎 Help a resident"), Open("assist")),))
        return Step((Reply("\n".join(lines), title=title, options=options),))

    @staticmethod
    def _line(turn: Turn, item: WorkItem) -> str:
        """`Trần T. B., born 1961 — missing: ethnicity, phone`: what to bring up with each one."""
        if not item.invalid:
            return turn._("{name}, born {year} — missing: {missing}", name=item.name,
                          year=item.birth_year, missing=field_names(turn, item.missing))
        if not item.missing:
            return turn._("{name}, born {year} — to check: {invalid}", name=item.name,
                          year=item.birth_year, invalid=field_names(turn, item.invalid))
        return turn._("{name}, born {year} — missing: {missing}; to check: {invalid}",
                      name=item.name, year=item.birth_year, missing=field_names(turn, item.missing),
                      invalid=field_names(turn, item.invalid))


JOURNEY = Journey("worklist", WorklistFlow(), Requires.VOLUNTEER, commands=("worklist", "danhsach"),
                  describe=N_("Residents of my ward with details missing"), menu=N_("📋 Residents to help"),
                  order=13, small_screens=False, listed=False)
