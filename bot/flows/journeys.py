"""Every journey of the product, one line each: its file declares the rest (bot.flows.registry)."""

from __future__ import annotations

from bot.flows import (
    access,
    assist,
    book,
    cancel,
    checkin,
    consent,
    correction,
    desk_link,
    help,
    helpers,
    household,
    language,
    logout,
    menu,
    pending,
    pin,
    qr,
    staff,
    update,
    verify,
    ward_change,
    worklist,
)
from bot.flows.registry import register

for _module in (menu, verify, pin, book, update, correction, qr, consent, access, language, help, cancel,
                logout, checkin, staff, assist, worklist, ward_change, pending, household, helpers,
                desk_link):
    register(_module.JOURNEY)

JOURNEYS_LOADED = True
