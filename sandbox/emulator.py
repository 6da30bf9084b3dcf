"""A local stand-in for api.telegram.org for one bot, plus the phones that talk to it.

The real python-telegram-bot `Application` runs against it unchanged:

    ApplicationBuilder().token(TOKEN)
        .base_url(f"http://127.0.0.1:{port}/bot").base_file_url(f"http://127.0.0.1:{port}/file/bot")

Everything lives in memory. The user side (`/sandbox/api/...`) is what the chat page at `/` and
`sandbox.client.TelegramUser` use to play citizens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from aiohttp import ClientSession, web

from sandbox.emulator_bot_api import BotApi, Described
from sandbox.emulator_commands import BotDescriptions, CommandMenus
from sandbox.emulator_files import FileStore
from sandbox.emulator_params import ApiError, read_call
from sandbox.emulator_state import Chat, Sandbox, World
from sandbox.emulator_updates import UpdateQueue
from sandbox.emulator_user_api import UserApi

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("page")
STATIC_FILES = {"chat.js": "application/javascript", "chat.css": "text/css", "index.html": "text/html"}
DEFAULT_BOT_ID = 7000000001
_dumps = partial(json.dumps, ensure_ascii=False)


def _bot_id(token: str) -> int:
    """Telegram tokens are "<bot id>:<secret>"."""
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else DEFAULT_BOT_ID


class BotApiEmulator:
    def __init__(self, token: str, *, bot_username: str = "HanoiHealthBookBot",
                 bot_first_name: str = "Sổ sức khỏe Hà Nội",
                 personas: Callable[[], Awaitable[list[dict]]] | None = None) -> None:
        self.token = token
        self._session: ClientSession | None = None
        self._flood: dict[str, list[int]] = {}  # method (lower case) -> [calls left, retry_after]
        bot_user = {"id": _bot_id(token), "is_bot": True, "first_name": bot_first_name,
                    "username": bot_username}
        self.sandbox = Sandbox(bot_user=bot_user, world=World(), updates=UpdateQueue(self._http),
                               commands=CommandMenus(), descriptions=BotDescriptions(), files=FileStore(),
                               http=self._http)
        self._bot_api = BotApi(self.sandbox)
        self._user_api = UserApi(self.sandbox, personas)

    @property
    def bot_user(self) -> dict:
        return self.sandbox.bot_user

    def chat(self, chat_id: int) -> Chat | None:
        """The recorded chat, for assertions in tests."""
        return self.sandbox.world.chats.get(chat_id)

    def add_routes(self, app: web.Application, *, page: bool = True) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._bot_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._bot_file)
        self._user_api.add_routes(app)
        if page:
            app.router.add_get("/", self._index)
            app.router.add_get("/sandbox/static/{name}", self._static)
        app.on_shutdown.append(self._on_shutdown)
        app.on_cleanup.append(self._on_cleanup)

    def flood_control(self, method: str, times: int, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer 429 "Too Many Requests: retry after N"."""
        self._flood[method.lower()] = [times, retry_after]

    def lose_webhook_answers(self, times: int) -> None:
        """The bot's next `times` webhook answers are lost on the way back: the update comes again."""
        webhook = self.sandbox.updates.webhook
        if webhook is None:
            raise RuntimeError("no webhook is set")
        webhook.answers_to_lose = times

    async def close(self) -> None:
        await self.sandbox.updates.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _on_shutdown(self, app: web.Application) -> None:
        self.sandbox.updates.end_long_polls()
        self.sandbox.world.close()

    async def _on_cleanup(self, app: web.Application) -> None:
        await self.close()

    def _http(self) -> ClientSession:
        if self._session is None or self._session.closed:
            self._session = ClientSession()
        return self._session

    # -- the Bot API ---------------------------------------------------------------------------
    async def _bot_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if not self._bot_api.knows(method):
                raise ApiError(404, "Not Found")
            self._check_flood(method)
            result = await self._bot_api.call(method, await read_call(request))
        except ApiError as error:
            if error.code >= 500 or error.code == 429:
                log.info("Bot API %s answered %s: %s", method, error.code, error.description)
            return web.json_response(error.payload(), status=error.code, dumps=_dumps)
        if isinstance(result, Described):
            body = {"ok": True, "result": result.result, "description": result.description}
        else:
            body = {"ok": True, "result": result}
        return web.json_response(body, dumps=_dumps)

    def _check_flood(self, method: str) -> None:
        limit = self._flood.get(method.lower())
        if limit and limit[0] > 0:
            limit[0] -= 1
            raise ApiError(429, f"Too Many Requests: retry after {limit[1]}", {"retry_after": limit[1]})

    async def _bot_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self.sandbox.files.by_path(request.match_info["file_path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.content, content_type=stored.mime_type)

    # -- the chat page -----------------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(PAGE / "index.html", headers={"Cache-Control": "no-cache"})

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(PAGE / name, headers={"Content-Type": STATIC_FILES[name],
                                                      "Cache-Control": "no-cache"})
