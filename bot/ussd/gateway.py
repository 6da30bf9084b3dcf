"""`POST /ussd`: the operator's USSD gateway calls once per screen.

The common gateway contract: form fields `sessionId`, `serviceCode`,
`phoneNumber` and `text`, where `text` is everything the caller typed in this
session joined by `*`; the answer is `text/plain`, `CON <screen>` to wait for
input or `END <screen>` to close. Only the gateway may call: a shared secret
(`Authorization: Bearer …`), an allow-list of its addresses, or both.

Each request is matched to its session (core.identity.sessions): the same
`text` again is the gateway retrying, answered with the stored screen and no
effect; `text` that extends the last one by one answer is the next step;
anything else is a replay or a forgery and gets 409. A session idle longer
than `USSD_SESSION_SECONDS` is over: the caller is told to dial again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import ipaddress
import logging
import re
import time
from dataclasses import dataclass, replace
from functools import partial

from aiohttp import web

from bot.config import UssdSettings
from bot.flows.engine import Conversation
from bot.flows.replies import Input, InputKind
from bot.flows.turn import ChannelInfo
from bot.ussd.gsm import to_gsm7
from bot.ussd.screens import SCREEN_LIMIT, NotOffered, PageTurn, View, draw, interpret
from core import validation
from core.db import Database
from core.i18n import N_, now_utc, translator
from core.identity import accounts, sessions
from core.identity.keys import phone_keys
from core.identity.sessions import GatewaySession

log = logging.getLogger(__name__)

CHANNEL = "ussd"
USSD_PATH = "/ussd"
# A keypad and a small screen: no pictures, no messages first, digits and numbered choices, no
# typed commands, 182 characters a screen (DOMAIN.md); the caller's number signs in with a PIN.
CHANNEL_INFO = ChannelInfo(CHANNEL, None, images=False, push=False, typing=False, buttons=False,
                           commands=False, edits=False, screen=SCREEN_LIMIT, pin_sessions=True)
_SESSION_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,100}")
_MAX_TEXT = 1000
_CLAIM_WAIT = 5.0  # seconds a retry waits for the first request of the same step to finish


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class GatewayRequest:
    session_id: str
    caller: str  # +84…
    text: str


class UssdGateway:
    def __init__(self, db: Database, settings: UssdSettings) -> None:
        if not settings.configured:
            raise ValueError("USSD needs USSD_GATEWAY_SECRET or USSD_GATEWAY_NETWORKS")
        if settings.secret is not None and len(settings.secret) < 16:
            raise ValueError("USSD_GATEWAY_SECRET must be at least 16 characters")
        self.db = db
        self.settings = settings
        self.conversation = Conversation(db, CHANNEL_INFO)
        self.ttl = dt.timedelta(seconds=settings.session_seconds)

    def add_route(self, app: web.Application) -> None:
        app.router.add_post(USSD_PATH, self.receive)

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            self._authorize(request)
            call = await self._parse(request)
            answer = await self._answer(call)
        except Refused as refused:
            log.warning("ussd request refused (%s): %s", refused.status, refused.reason)
            return web.Response(status=refused.status, text=refused.reason)
        log.info("ussd screen %s in %.1f ms", answer[:3], (time.perf_counter() - started) * 1000)
        return web.Response(text=answer, content_type="text/plain")

    # --- the edge -------------------------------------------------------------------

    def _authorize(self, request: web.Request) -> None:
        if self.settings.networks:
            try:
                address = ipaddress.ip_address(request.remote or "")
            except ValueError:
                raise Refused(403, "forbidden") from None
            if not any(address in network for network in self.settings.networks):
                raise Refused(403, "forbidden")
        if self.settings.secret is not None:
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {self.settings.secret}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise Refused(401, "unauthorized")

    async def _parse(self, request: web.Request) -> GatewayRequest:
        if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
            raise Refused(415, "expected a form")
        form = await request.post()
        fields = {}
        for name in ("sessionId", "phoneNumber", "text"):
            value = form.get(name)
            if not isinstance(value, str):
                raise Refused(400, f"{name} is missing")
            fields[name] = value
        if not _SESSION_ID.fullmatch(fields["sessionId"]):
            raise Refused(400, "sessionId is not valid")
        try:
            caller = validation.phone(fields["phoneNumber"])
        except validation.InvalidValue:
            raise Refused(400, "phoneNumber is not a Vietnamese mobile number") from None
        text = fields["text"]
        if len(text) > _MAX_TEXT or not text.isprintable():
            raise Refused(400, "text is not valid")
        return GatewayRequest(fields["sessionId"], caller, text)

    # --- the session ----------------------------------------------------------------

    async def _answer(self, call: GatewayRequest) -> str:
        keys = phone_keys(call.caller)  # the current server key's first, then a previous key's
        external_id = keys[0]
        now = now_utc()
        session = await self.db.read(sessions.find_session, CHANNEL, call.session_id)
        if session is None:
            if call.text:  # a session we never saw, or one long over and deleted
                return self._timed_out(None)
            account = await self.db.write(accounts.open_keyed_account, CHANNEL, keys)
            await self.db.write(sessions.purge_sessions, now - self.ttl)
            session = await self.db.write(sessions.start_session, CHANNEL, call.session_id, account.id, now)
        if session.external_id != external_id:
            raise Refused(409, "the session belongs to another number")
        if session.last_text is not None and session.idle(now) > self.ttl:
            if not session.closed or session.answer is not None:  # nothing it showed is kept
                await self.db.write(sessions.end_session, session.id)
            return self._timed_out(session.locale)
        if session.answer is not None and call.text == session.last_text:
            return session.answer  # the gateway retrying: the same screen, nothing done twice
        if session.closed:
            raise Refused(409, "the session is closed")
        self._typed(session, call.text)  # refused before waiting, when it cannot follow
        if not await self._claim(session.id):
            raise Refused(409, "the session is busy with another request")
        try:
            # Read again once claimed: a retry that waited for the first request gets its answer.
            claimed = await self.db.read(sessions.find_session, CHANNEL, call.session_id)
            assert claimed is not None
            if claimed.answer is not None and claimed.last_text == call.text:
                await self.db.write(sessions.release_session, session.id)
                return claimed.answer
            return await self._step(claimed, call, external_id, self._typed(claimed, call.text))
        except BaseException:
            await self.db.write(sessions.release_session, session.id)
            raise

    @staticmethod
    def _typed(session: GatewaySession, text: str) -> str | None:
        """The one new answer in `text`; None for the dial itself."""
        if session.last_text is None:
            if text:
                raise Refused(409, "the session has not started")
            return None
        prefix = f"{session.last_text}*" if session.last_text else ""
        if not text.startswith(prefix) or len(text) == len(prefix):
            raise Refused(409, "the text does not follow the session")  # an old step, or forged
        return text[len(prefix):]

    async def _claim(self, session_id: int) -> bool:
        deadline = time.monotonic() + _CLAIM_WAIT
        while not await self.db.write(sessions.claim_session, session_id, now_utc()):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _step(self, session: GatewaySession, call: GatewayRequest, external_id: str,
                    typed: str | None) -> str:
        view = View.from_data(session.view)
        signed_in = session.signed_in
        response = None
        if typed is None:  # a new dial starts clean
            answer = await self.conversation.handle(
                external_id, Input(InputKind.COMMAND, command="start", caller=call.caller),
                signed_in=False, fresh=True)
            view = draw(answer.replies, translator(answer.locale), takes_text=answer.awaits_text)
        else:
            move = interpret(view, typed)
            if isinstance(move, PageTurn):
                view = move.view
            elif isinstance(move, NotOffered):  # the same screen, told so; the place is kept
                t = translator(session.locale)
                response, view = move.view.noted(
                    to_gsm7(t.gettext(N_("Please type one of the numbers on the screen."))),
                    to_gsm7(t.gettext(N_("0. More"))), to_gsm7(t.gettext(N_("00. Back"))))
            else:
                answer = await self.conversation.handle(external_id, replace(move, caller=call.caller),
                                                        signed_in=signed_in)
                signed_in = signed_in or answer.signed_in
                # Nothing new to say (a choice already handled): the screen stays as it was.
                view = draw(answer.replies, translator(answer.locale), takes_text=answer.awaits_text) \
                    if answer.replies or view is None else view
        assert view is not None
        response = response or view.response
        await self.db.write(partial(sessions.save_answer, text=call.text, answer=response,
                                    view=view.to_data(), signed_in=signed_in,
                                    closed=response.startswith("END"), now=now_utc()), session.id)
        return response

    @staticmethod
    def _timed_out(locale: str | None) -> str:
        t = translator(locale)
        return "END " + to_gsm7(t.gettext(N_("Your session has ended. Please dial again.")))


def add_ussd_route(app: web.Application, db: Database, settings: UssdSettings) -> UssdGateway:
    gateway = UssdGateway(db, settings)
    gateway.add_route(app)
    return gateway
