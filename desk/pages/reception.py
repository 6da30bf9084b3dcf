"""Reception: a USB or Bluetooth scanner types the QR's link (or the clerk types the 8-digit code
the person reads out) into one box, and the card appears, as the citizen agreed to share it.

The same doors as the bot's check-in: core.checkin.desk decides and counts lookups,
core.consent.access reads and logs, and the person is told through the outbox.
"""

from __future__ import annotations

import re

from aiohttp import web

from core.checkin import desk, tokens
from core.checkin.card import (
    NEWEST_VISITS,
    allergy_list,
    card_closed,
    card_sections,
    name_of,
    not_opened,
    visit_list,
)
from core.checkin.desk import DeskLookup, DeskState
from core.checkin.viewed import tell_viewed
from core.consent.access import ReadResult, read_book_as
from core.consent.grants import group_names
from core.families.rules import PRESENTED_AS
from core.i18n import N_, Message, today_hanoi
from core.identity.accounts import account_by_id
from core.records import people
from core.records.display_rules import BookGroup
from core.staff.model import StaffRole
from desk.render import page, translator_for
from desk.security import DATABASE, requires

# The QR's link ends with the check-in token: `…?start=ci_<token>` (core.checkin.tokens).
_SCANNED = re.compile(r"ci_([A-Za-z0-9_-]{16,})")


@requires(StaffRole.RECEPTIONIST)
async def reception(request: web.Request) -> web.StreamResponse:
    return page(request, "reception.html", card=None, problem=None)


def _not_opened(request: web.Request, problem: str, status: int = 200, **params: object) -> web.Response:
    return page(request, "reception.html", card=None, problem=(problem, params), status=status)


def _said(request: web.Request, message: Message) -> web.Response:
    return _not_opened(request, message.msgid, **message.params)


@requires(StaffRole.RECEPTIONIST)
async def open_card(request: web.Request) -> web.StreamResponse:
    db, staff = request.app[DATABASE], request["signed_in"].staff
    t = translator_for(request)
    typed = str((await request.post()).get("scanned") or "").strip()[:500]
    account = await db.read(account_by_id, staff.account_id)
    scanned = _SCANNED.search(typed)
    if scanned:
        found, via = await desk.open_link(db, account, staff, scanned.group(1)), "qr"
    elif tokens.code_digest(typed) is not None:
        found, via = await desk.open_code(db, account, staff, typed), "code"
    else:  # a slip of the keyboard, not a guess: not counted
        return _not_opened(request, N_("That is neither a check-in QR code nor an 8-digit code. Scan the "
                                       "code again, or type the 8 digits the person reads out."))
    if found.state is DeskState.PAUSED:
        return _not_opened(request, N_("Too many codes that opened nothing. Please wait 10 minutes, then "
                                       "try again."), 429)
    if found.state is not DeskState.OPEN or found.citizen_id is None:
        # Unknown, expired, replaced (or the clerk's own code): one answer, revealing nothing.
        return _said(request, not_opened())
    read = await read_book_as(db, staff.reader, found.citizen_id, via=via, token_id=found.token_id,
                              locale=t.locale)
    if read.book is None or read.access is None:
        return _said(request, not_opened())
    told = (found.citizen_id, *((found.presenter_id,) if found.presenter_id else ()))
    await tell_viewed(db, read.access, told)
    return await _card(request, found, read)


async def _card(request: web.Request, found: DeskLookup, read: ReadResult) -> web.Response:
    assert read.book is not None and read.access is not None and found.citizen_id is not None
    t = translator_for(request)
    person = await request.app[DATABASE].read(people.by_id, found.citizen_id)
    birth = person.birth_date if person else None
    presenter = None
    if found.presenter_name and found.presented_as in PRESENTED_AS:
        presenter = (found.presenter_name, PRESENTED_AS[found.presented_as])
    card = {"token": found.token_id, "name": name_of(read.book),
            "age": birth.age_on(today_hanoi()) if birth else None,
            "sections": card_sections(read.book), "allergies": allergy_list(read.book),
            "visits": visit_list(read.book), "groups": group_names(read.access.groups, t),
            "presenter": presenter, "opened_at": read.access.at, "general": BookGroup.GENERAL,
            "newest": NEWEST_VISITS}
    return page(request, "reception.html", card=card, problem=None)


async def _reopened(request: web.Request) -> tuple[DeskLookup, int | None] | None:
    """The card's code from the address, open again to this desk while it is valid (None: not)."""
    db, staff = request.app[DATABASE], request["signed_in"].staff
    token, ref = request.match_info["token"], request.match_info.get("ref")
    if not token.isdigit() or (ref is not None and not ref.isdigit()):
        return None
    account = await db.read(account_by_id, staff.account_id)
    found = await desk.reopen(db, account, staff, int(token))
    if found.state is not DeskState.OPEN or found.citizen_id is None:
        return None
    return found, int(ref) if ref is not None else None


@requires(StaffRole.RECEPTIONIST)
async def card_again(request: web.Request) -> web.StreamResponse:
    """The card shown again (back from a visit): read again through the one door and logged; the
    person was told when the code was opened, not again."""
    reopened = await _reopened(request)
    if reopened is None:
        return _said(request, card_closed())
    found = reopened[0]
    assert found.citizen_id is not None and found.token_id is not None
    read = await read_book_as(request.app[DATABASE], request["signed_in"].staff.reader, found.citizen_id,
                              via="card", token_id=found.token_id,
                              locale=translator_for(request).locale)
    if read.book is None or read.access is None:
        return _said(request, card_closed())
    return await _card(request, found, read)


@requires(StaffRole.RECEPTIONIST)
async def visits(request: web.Request) -> web.StreamResponse:
    """The card's visits, all of them or one in full: read again through the one door, logged,
    only while the person's code is valid and only by the desk that opened it (core.checkin.desk)."""
    reopened = await _reopened(request)
    if reopened is None:
        return _said(request, card_closed())
    found, ref = reopened
    assert found.citizen_id is not None and found.token_id is not None
    read = await read_book_as(request.app[DATABASE], request["signed_in"].staff.reader, found.citizen_id,
                              via="card", token_id=found.token_id,
                              locale=translator_for(request).locale,
                              only=frozenset({BookGroup.GENERAL, BookGroup.VISITS}))
    listed = visit_list(read.book) if read.book is not None else None
    if read.book is None or listed is None:
        return _said(request, card_closed())
    entry = next((e for e in listed.entries if e.ref == ref), None) if ref is not None else None
    if ref is not None and entry is None:
        return _said(request, card_closed())
    return page(request, "visits.html", name=name_of(read.book), visits=listed, entry=entry,
                token=found.token_id)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reception", reception)
    app.router.add_post("/reception", open_card)
    app.router.add_get("/reception/{token}", card_again)
    app.router.add_get("/reception/{token}/visits", visits)
    app.router.add_get("/reception/{token}/visits/{ref}", visits)
