"""Drawing the flows' replies as USSD screens: numbered options, `0` for more, `00` for back.

A screen holds at most 182 GSM-7 characters (DOMAIN.md). A reply too long for one
screen is cut into pages at line or word boundaries, never inside an option; options
keep one numbering across pages. The pages are kept in the session, so `0` and
`00` turn pages without asking the flow again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.flows.actions import Open, encode
from bot.flows.replies import Input, InputKind, Reply
from bot.ussd.gsm import septets, to_gsm7
from core.i18n import N_, Translator

SCREEN_LIMIT = 182
MORE, BACK = "0", "00"


@dataclass(frozen=True)
class View:
    """What the caller is looking at: the pages of the last answer and its options."""

    pages: tuple[str, ...]
    page: int = 0
    actions: tuple[str, ...] = ()  # option n is actions[n - 1]
    ends: bool = False  # the last page closes the session (END)

    @property
    def last_page(self) -> bool:
        return self.page >= len(self.pages) - 1

    @property
    def response(self) -> str:
        """The gateway's answer: `CON` waits for input, `END` closes with the text left on screen."""
        kind = "END" if self.ends and self.last_page else "CON"
        return f"{kind} {self.pages[self.page]}"

    def turned(self, page: int) -> View:
        return View(self.pages, page, self.actions, self.ends)

    def to_data(self) -> dict[str, Any]:
        return {"pages": list(self.pages), "page": self.page, "actions": list(self.actions),
                "ends": self.ends}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> View | None:
        pages, actions = data.get("pages"), data.get("actions")
        if not isinstance(pages, list) or not pages or not isinstance(actions, list):
            return None
        page = data.get("page")
        return cls(tuple(str(p) for p in pages), page if isinstance(page, int) else 0,
                   tuple(str(a) for a in actions), bool(data.get("ends")))


@dataclass(frozen=True)
class PageTurn:
    view: View


def interpret(view: View | None, typed: str) -> PageTurn | Input:
    """What one typed answer means on this screen: a page turn, an option, or text for the flow."""
    value = typed.strip()
    if view is not None:
        if value == MORE and not view.last_page:
            return PageTurn(view.turned(view.page + 1))
        if value == BACK:  # the page before, or from a first page back to the menu
            return PageTurn(view.turned(view.page - 1)) if view.page > 0 else \
                Input.of_option(encode(Open("menu")))
        if value.isdigit() and not value.startswith("0") and int(value) <= len(view.actions):
            return Input.of_option(view.actions[int(value) - 1])
    # Typed text is only ever text here: a keypad cannot send the flows' /commands.
    return Input(InputKind.TEXT, text=value)


@dataclass
class _Pager:
    more: str
    back: str
    pages: list[list[str]] = field(default_factory=list)

    def room(self, page: int) -> int:
        # Every page may need both "0 more" and "00 back" lines; the last one just has spare room.
        footer = 1 + septets(self.more) + (1 + septets(self.back) if page > 0 else 0)
        return SCREEN_LIMIT - footer

    def used(self, lines: list[str]) -> int:
        return septets("\n".join(lines))

    def add(self, line: str, *, whole: bool) -> None:
        """Adds a line to the current page, or starts the next; text lines may be split at words."""
        if not self.pages:
            self.pages.append([])
        while True:
            current = self.pages[-1]
            room = self.room(len(self.pages) - 1) - (self.used(current) + 1 if current else 0)
            if septets(line) <= room:
                current.append(line)
                return
            fresh = self.room(len(self.pages))
            if current and (whole or septets(line) <= fresh or room < 20):  # a sentence stays whole
                self.pages.append([])
                continue
            head, line = _split(line, room if current else self.room(len(self.pages) - 1))
            current.append(head)
            self.pages.append([])

    def drawn(self) -> tuple[str, ...]:
        pages = [p for p in self.pages if p] or [[""]]
        out = []
        for index, lines in enumerate(pages):
            footer = []
            if index < len(pages) - 1:
                footer.append(self.more)
            if index > 0:
                footer.append(self.back)
            out.append("\n".join(lines + footer))
        return tuple(out)


def _split(line: str, room: int) -> tuple[str, str]:
    """The longest head of `line` that fits in `room`, cut at a space where there is one."""
    cut = room
    while septets(line[:cut]) > room:
        cut -= 1
    space = line.rfind(" ", 0, cut + 1)
    if space > room // 2:
        cut = space
    return line[:cut].rstrip(), line[cut:].lstrip()


def draw(replies: tuple[Reply, ...], t: Translator) -> View:
    """The flow's replies as pages. The options of the last reply that has some are numbered."""
    chosen = next((r for r in reversed(replies) if r.options), None)
    ends = any(r.ends for r in replies) or chosen is None
    options = [] if ends or chosen is None else [o for row in chosen.options for o in row]
    pager = _Pager(to_gsm7(t.gettext(N_("0. More"))), to_gsm7(t.gettext(N_("00. Back"))))
    labels = [_split(f"{number}. {to_gsm7(option.label)}", pager.room(1))[0]
              for number, option in enumerate(options, start=1)]
    actions = tuple(o.action if isinstance(o.action, str) else encode(o.action) for o in options)
    text = _lines(replies, titles=True)
    if septets("\n".join(text + labels)) <= SCREEN_LIMIT:  # one screen: no room kept for "0. More"
        return View(("\n".join(text + labels),), 0, actions, ends)
    # Several screens: the first shows what matters rather than a heading.
    text = _lines(replies, titles=False)
    for line in text:
        pager.add(line, whole=False)
    for label in labels:
        pager.add(label, whole=True)
    return View(pager.drawn(), 0, actions, ends)


def _lines(replies: tuple[Reply, ...], *, titles: bool) -> list[str]:
    parts = [part for reply in replies for part in ((reply.title if titles else None), reply.text)]
    return [line for part in parts for line in to_gsm7(part or "").split("\n") if line]
