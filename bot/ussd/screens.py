"""Drawing the flows' replies as USSD screens: numbered options, `0` for more, `00` for back.

A screen holds at most 182 GSM-7 characters (DOMAIN.md). A reply too long for one
screen is cut into pages at line or word boundaries, never inside an option; options
keep one numbering across pages. The pages are kept in the session, so `0` and
`00` turn pages without asking the flow again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    # The option numbers each page shows; a number is only taken on the page that shows it.
    shown: tuple[tuple[int, ...], ...] | None = None  # None: every option on every page
    back: str | None = None  # what "00" means on a first page: the way back, else the menu
    takes_text: bool = False  # the journey waits for typed text (an ID, a PIN, a name)

    @property
    def last_page(self) -> bool:
        return self.page >= len(self.pages) - 1

    @property
    def response(self) -> str:
        """The gateway's answer: `CON` waits for input, `END` closes with the text left on screen."""
        return f"{self._kind} {self.pages[self.page]}"

    @property
    def _kind(self) -> str:
        return "END" if self.ends and self.last_page else "CON"

    def offers(self, number: int) -> bool:
        if not 1 <= number <= len(self.actions):
            return False
        return self.shown is None or self.page >= len(self.shown) or number in self.shown[self.page]

    def noted(self, note: str, more: str, back: str) -> tuple[str, View]:
        """This page again under `note` (what was typed is not on it), and the view from then on:
        its options and footer kept, the text above them shortened from the top where the screen
        has no room for all; where even its options leave no room, they take two pages."""
        lines = self.pages[self.page].split("\n")
        numbers = tuple(range(1, len(self.actions) + 1)) if self.shown is None else \
            self.shown[self.page] if self.page < len(self.shown) else ()
        tail = len(numbers) + (not self.last_page) + (self.page > 0)  # options, "0 more", "00 back"
        body, rest = lines[:len(lines) - tail], lines[len(lines) - tail:]
        while body and septets("\n".join([note, *body, *rest])) > SCREEN_LIMIT:
            body.pop(0)
        if septets("\n".join([note, *rest])) <= SCREEN_LIMIT:
            return f"{self._kind} " + "\n".join([note, *body, *rest]), self
        options = rest[:len(numbers)]
        first_footer = [more] + ([back] if self.page > 0 else [])
        cut = len(options)
        while cut > 1 and septets("\n".join([note, *options[:cut], *first_footer])) > SCREEN_LIMIT:
            cut -= 1
        second = options[cut:] + ([more] if not self.last_page else []) + [back]
        pages = (*self.pages[:self.page], "\n".join(options[:cut] + first_footer), "\n".join(second),
                 *self.pages[self.page + 1:])
        shown = list(self.shown) if self.shown is not None else [numbers]
        shown[self.page:self.page + 1] = [numbers[:cut], numbers[cut:]]
        split = replace(self, pages=pages, shown=tuple(shown))
        return "CON " + "\n".join([note, *options[:cut], *first_footer]), split

    def turned(self, page: int) -> View:
        return replace(self, page=page)

    def to_data(self) -> dict[str, Any]:
        return {"pages": list(self.pages), "page": self.page, "actions": list(self.actions),
                "ends": self.ends, "shown": None if self.shown is None else [list(s) for s in self.shown],
                "back": self.back, "takes_text": self.takes_text}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> View | None:
        pages, actions = data.get("pages"), data.get("actions")
        if not isinstance(pages, list) or not pages or not isinstance(actions, list):
            return None
        page = data.get("page")
        shown, back = data.get("shown"), data.get("back")
        return cls(tuple(str(p) for p in pages), page if isinstance(page, int) else 0,
                   tuple(str(a) for a in actions), bool(data.get("ends")),
                   tuple(tuple(int(n) for n in s) for s in shown) if isinstance(shown, list) else None,
                   back if isinstance(back, str) else None,
                   # A view stored before this was kept: text went to the flow.
                   bool(data.get("takes_text", True)))


@dataclass(frozen=True)
class PageTurn:
    view: View


@dataclass(frozen=True)
class NotOffered:
    """A number (or anything) typed that the screen does not offer: the same screen, with a word."""

    view: View


def interpret(view: View | None, typed: str) -> PageTurn | NotOffered | Input:
    """What one typed answer means on this screen: a page turn, an option, or text for the flow."""
    value = typed.strip()
    if view is not None:
        if value == MORE and not view.last_page:
            return PageTurn(view.turned(view.page + 1))
        if value == BACK:  # the page before, or from a first page back where this screen came from
            return PageTurn(view.turned(view.page - 1)) if view.page > 0 else \
                Input.of_option(view.back or encode(Open("menu")))
        if value.isdigit() and not value.startswith("0") and view.offers(int(value)):
            return Input.of_option(view.actions[int(value) - 1])
        if not view.takes_text:
            return NotOffered(view)
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

    def add_block(self, lines: list[str]) -> None:
        """Adds lines that belong together (one visit): on a fresh page if that keeps them whole."""
        current = self.pages[-1] if self.pages else []
        if len(lines) > 1 and current:
            room = self.room(len(self.pages) - 1) - self.used(current) - 1
            if room < self.used(lines) <= self.room(len(self.pages)):
                self.pages.append([])
        for line in lines:
            self.add(line, whole=False)

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


def draw(replies: tuple[Reply, ...], t: Translator, *, takes_text: bool = False) -> View:
    """The flow's replies as pages. The options of the last reply that has some are numbered;
    `takes_text`: the journey waits for typed text."""
    chosen = next((r for r in reversed(replies) if r.options), None)
    ends = any(r.ends for r in replies) or chosen is None
    options = [] if ends or chosen is None else [o for row in chosen.options for o in row]
    pager = _Pager(to_gsm7(t.gettext(N_("0. More"))), to_gsm7(t.gettext(N_("00. Back"))))
    labels = [_split(f"{number}. {to_gsm7(option.label)}", pager.room(1))[0]
              for number, option in enumerate(options, start=1)]
    actions = tuple(o.action if isinstance(o.action, str) else encode(o.action) for o in options)
    back = next((action for option, action in zip(options, actions, strict=True) if option.back), None)
    blocks = _blocks(replies, titles=True)
    text = [line for block in blocks for line in block]
    if septets("\n".join(text + labels)) <= SCREEN_LIMIT:  # one screen: no room kept for "0. More"
        return View(("\n".join(text + labels),), 0, actions, ends, None, back, takes_text)
    # Several screens: the first shows what matters rather than a heading.
    for block in _blocks(replies, titles=False):
        pager.add_block(block)
    on_page: dict[int, list[int]] = {}
    for number, label in enumerate(labels, start=1):
        pager.add(label, whole=True)
        on_page.setdefault(len(pager.pages) - 1, []).append(number)
    pages = pager.drawn()
    shown = tuple(tuple(on_page.get(index, ())) for index in range(len(pages)))
    return View(pages, 0, actions, ends, shown, back, takes_text)


def _blocks(replies: tuple[Reply, ...], *, titles: bool) -> list[list[str]]:
    """The replies' lines, in blocks that belong together (parted by a blank line), blanks dropped."""
    parts = [part for reply in replies for part in ((reply.title if titles else None), reply.text)]
    blocks = [[line for line in block.split("\n") if line]
              for part in parts for block in to_gsm7(part or "").split("\n\n")]
    return [block for block in blocks if block]
