"""`/qr`: the check-in QR code to show at the clinic's reception, and its 8-digit code.

The QR code holds the channel's deep link (`…?start=ci_<token>`); a receptionist's
phone camera opens it. A new code replaces the previous one, however it was asked for, and
the message that showed the previous one says so where the channel can change it. Where no
picture can be shown, the code is read out instead.
"""

from __future__ import annotations

import io
from functools import cache

import qrcode
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_M

from bot.flows.actions import Action, Open, declare
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Option, Reply, Step, rows
from bot.flows.turn import Turn
from core.checkin import tokens
from core.consent.grants import consent_of, group_names
from core.consent.policy import any_clinic_sees, facilities_see_more
from core.families import Power
from core.i18n import N_, today_hanoi

# A new code in place of the one on this message: issued once, however often the button is tapped.
NewCode = declare("qr", "n", "NewCode", once=True)


def qr_png(data: str) -> bytes:
    """A PNG QR code, big enough to scan from a phone screen held up at a desk."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(data)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


@cache
def replaced_png() -> bytes:
    """What an earlier code's picture becomes once replaced: grey, crossed out, nothing to
    scan, so that a desk cannot be shown it by mistake."""
    image = Image.new("RGB", (290, 290), "#e5e7eb")
    draw = ImageDraw.Draw(image)
    draw.line((45, 45, 245, 245), fill="#6b7280", width=14)
    draw.line((45, 245, 245, 45), fill="#6b7280", width=14)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class QrFlow:
    async def start(self, turn: Turn, payload: str = "") -> Step:
        assert turn.subject is not None
        acting = turn.for_someone
        presenter = (turn.actor, acting.right.presented_as) \
            if acting is not None and turn.actor is not None else None
        issued = await tokens.issue(turn.db, turn.subject, turn.channel.name, presenter)
        consent = await consent_of(turn.db, turn.subject)
        sees = group_names(any_clinic_sees(consent, today_hanoi()), turn.t)
        # A facility the person gave more to says so: they know what each desk will see.
        more = tuple(
            turn._("{facility} also sees: {groups}, until {date}.", facility=grant.facility_name or
                   grant.facility_code, groups=group_names(groups, turn.t).lower(),
                   date=turn.t.date(grant.valid_until)) if grant.valid_until else
            turn._("{facility} also sees: {groups}.", facility=grant.facility_name or grant.facility_code,
                   groups=group_names(groups, turn.t).lower())
            for grant, groups in facilities_see_more(consent, today_hanoi()))
        # Decree 13/2023 art. 20: a code shown for a child of 7 or more; the card says so too.
        agrees = (turn._("By showing it you confirm that {name} agrees.", name=acting.short_name),) \
            if acting is not None and acting.right.child_agrees else ()
        if not (turn.channel.images and turn.channel.deep_link_base):  # the code to read out instead
            # The code last: a long answer is paged on a small screen, and the last page is
            # the one that stays in front of the person at the desk.
            text = "\n".join((
                turn._("The clinic will see: {groups}.", groups=sees), *more, *agrees,
                turn._("Read it out at the reception desk. It is valid until {time}.",
                       time=turn.t.datetime(issued.expires_at)),
                turn._("Your check-in code: {code}", code=issued.spoken_code),
            ))
            return Step((Reply(text, ends=True),))
        text = "\n".join((
            turn._("Show this QR code at the reception desk. It is valid until {time}.",
                   time=turn.t.datetime(issued.expires_at)),
            turn._("If scanning does not work, read out this code: {code}", code=issued.spoken_code),
            turn._("The clinic will see: {groups}.", groups=sees), *more, *agrees,
        ))
        options = rows(Option(turn._("🔄 New code"), NewCode()),
                       Option(turn._("🔒 What clinics may see"), Open("consent")),
                       Option(turn._("🏠 Main menu"), Open("menu")))
        image = qr_png(f"{turn.channel.deep_link_base}ci_{issued.token}")
        # However the new code was asked for (/qr, the menu, 🔄 New code), the old one is gone.
        replaced = turn._("This code was replaced by a new one and no longer works.") \
            if turn.channel.edits else None
        return Step((Reply(text, title=turn._("Check-in code"), options=options, image=image,
                           replaces_code=replaced),))

    async def on_action(self, turn: Turn, action: Action) -> Step:
        return await self.start(turn)


JOURNEY = Journey("qr", QrFlow(), Requires.CITIZEN, Subject.OWN, power=Power.SHOW_QR, commands=("qr", "maqr"),
                  describe=N_("Check-in QR code for the clinic"), menu=N_("🔳 Check-in QR code"),
                  menu_without_images=N_("🔢 Check-in code"), order=40)
