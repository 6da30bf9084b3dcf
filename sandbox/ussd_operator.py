"""The mobile operator's side of USSD, emulated: a gateway that calls `POST /ussd` over HTTP.

The real gateway sits in the operator's network: it gives each dial a session
id, keeps what the caller typed, and calls the service with all of it joined
by `*`. `UssdOperator` does the same for the sandbox page and the tests;
`FeaturePhone` is one caller holding a phone.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

from aiohttp import ClientSession, web

SERVICE_CODE = "*384#"


@dataclass(frozen=True)
class Screen:
    kind: str  # CON or END
    text: str
    status: int = 200

    @property
    def open(self) -> bool:
        return self.kind == "CON"


@dataclass
class _Dial:
    phone: str
    typed: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "*".join(self.typed)


class UssdOperator:
    """Gateway sessions by id; each `send` is one HTTP call to the service, as the operator makes it."""

    _numbers = itertools.count(1)

    def __init__(self, url: str, secret: str | None, http: ClientSession) -> None:
        self.url = url
        self.secret = secret
        self.http = http
        self.dials: dict[str, _Dial] = {}

    def form(self, session_id: str, phone: str, text: str) -> dict[str, str]:
        return {"sessionId": session_id, "serviceCode": SERVICE_CODE, "phoneNumber": phone, "text": text}

    async def call(self, form: dict[str, str], secret: str | None = None) -> Screen:
        headers = {"Authorization": f"Bearer {secret or self.secret}"} if (secret or self.secret) else {}
        async with self.http.post(self.url, data=form, headers=headers) as response:
            body = await response.text()
            if response.status != 200:
                return Screen("ERR", body, response.status)
            kind, _, text = body.partition(" ")
            return Screen(kind, text)

    async def dial(self, phone: str) -> tuple[str, Screen]:
        session_id = f"ATUid_{next(self._numbers)}_{secrets.token_hex(6)}"
        self.dials[session_id] = _Dial(phone)
        return session_id, await self._send(session_id)

    async def answer(self, session_id: str, typed: str) -> Screen:
        dial = self.dials.get(session_id)
        if dial is None:
            return Screen("END", "", 410)
        dial.typed.append(typed)
        return await self._send(session_id)

    async def _send(self, session_id: str) -> Screen:
        dial = self.dials[session_id]
        screen = await self.call(self.form(session_id, dial.phone, dial.text))
        if not screen.open:  # the operator ends the session with END (or an error)
            self.dials.pop(session_id, None)
        return screen


class FeaturePhone:
    """One caller: dials the service code and types answers; keeps every screen shown."""

    def __init__(self, operator: UssdOperator, phone: str) -> None:
        self.operator = operator
        self.phone = phone
        self.session_id: str | None = None
        self.screens: list[Screen] = []
        self.pages: list[str] = []  # the pages of the answer shown, as turned with 0 and 00

    @property
    def screen(self) -> Screen:
        return self.screens[-1]

    async def dial(self) -> Screen:
        self.session_id, screen = await self.operator.dial(self.phone)
        self.screens.append(screen)
        self.pages = [screen.text]
        return screen

    async def send(self, typed: str) -> Screen:
        assert self.session_id is not None, "dial first"
        screen = await self.operator.answer(self.session_id, typed)
        self.screens.append(screen)
        if typed in ("0", "00") and screen.open:  # options keep their numbers across pages
            self.pages.append(screen.text)
        else:
            self.pages = [screen.text]
        return screen

    async def choose(self, label_part: str) -> Screen:
        """Types the number of the option whose label holds `label_part`, back with 00 first when it
        was on an earlier page shown: a number is only taken on the screen that shows it."""
        for _ in range(len(self.pages)):
            first_page = not any(line.startswith("00. ") for line in self.screen.text.split("\n"))
            if first_page or self._number_in(self.screen.text, label_part) is not None or \
                    all(self._number_in(page, label_part) is None for page in self.pages):
                break
            await self.send("00")
        return await self.send(self.number_of(label_part))

    def number_of(self, label_part: str) -> str:
        number = self._number_in(self.screen.text, label_part)
        if number is not None:
            return number
        raise AssertionError(f"no option like {label_part!r} on the screen:\n{self.screen.text}")

    @staticmethod
    def _number_in(text: str, label_part: str) -> str | None:
        for line in text.split("\n"):
            number, dot, label = line.partition(". ")
            if dot and number.isdigit() and number != "0" and label_part.lower() in label.lower():
                return number
        return None


def add_sandbox_gateway(app: web.Application, operator_of) -> None:
    """`POST /sandbox/ussd` for the chat page's feature phone: `{phone}` dials, `{session, typed}` answers."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        operator: UssdOperator = operator_of()
        if body.get("session") is None:
            session_id, screen = await operator.dial(str(body.get("phone", "")))
        else:
            session_id = str(body["session"])
            screen = await operator.answer(session_id, str(body.get("typed", "")))
        return web.json_response({"session": session_id, "kind": screen.kind, "text": screen.text,
                                  "status": screen.status})

    app.router.add_post("/sandbox/ussd", handle)
