"""The phones' side of the sandbox: JSON over HTTP for the chat page and for `TelegramUser`.

A user sends text or a contact, presses inline buttons, and long-polls their chat's events;
tests may also inject raw updates (group messages, the bot being added to a group).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.emulator_params import TEXT_LIMIT
from sandbox.emulator_state import Chat, PendingQuery, Sandbox
from sandbox.emulator_updates import UPDATE_TYPES, update_type
from sandbox.entities import detect_entities, formatted_text
from sandbox.entities_rules import utf16_len

Personas = Callable[[], Awaitable[list[dict]]]
EVENTS_WAIT_MAX = 60.0  # seconds a phone's long poll may wait
_MESSAGE_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")
_DATED = (*_MESSAGE_KINDS, "my_chat_member", "chat_member", "chat_join_request")
_PROFILE = ("first_name", "last_name", "username", "language_code")


def _http_error(status: int, reason: str) -> web.HTTPException:
    error = {400: web.HTTPBadRequest, 404: web.HTTPNotFound}[status]
    return error(text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json")


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _http_error(400, "the request body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _http_error(400, f"{name} must be an integer") from None


class UserApi:
    def __init__(self, sandbox: Sandbox, personas: Personas | None) -> None:
        self._s = sandbox
        self._personas = personas

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/sandbox/api/personas", self.personas)
        app.router.add_post("/sandbox/api/chats/{chat_id}/send", self.send)
        app.router.add_post("/sandbox/api/chats/{chat_id}/press", self.press)
        app.router.add_post("/sandbox/api/chats/{chat_id}/block", self.block)
        app.router.add_get("/sandbox/api/chats/{chat_id}/events", self.events)
        app.router.add_get("/sandbox/api/chats/{chat_id}", self.chat_state)
        app.router.add_post("/sandbox/api/updates", self.raw_update)
        app.router.add_get("/sandbox/api/files/{file_id}", self.file)

    async def personas(self, request: web.Request) -> web.Response:
        return web.json_response(await self._personas() if self._personas else [])

    async def _profile(self, user_id: int, body: dict) -> dict | None:
        """The user's profile from the request, else (first contact only) from their persona."""
        if isinstance(body.get("from"), dict):
            return body["from"]
        if user_id in self._s.world.users or self._personas is None:
            return None
        persona = next((p for p in await self._personas() if p.get("user_id") == user_id), None)
        return {k: persona[k] for k in _PROFILE if persona.get(k)} if persona else None

    def _user_chat(self, request: web.Request) -> int:
        chat_id = _int(request.match_info["chat_id"], "user_id")
        if chat_id <= 0:
            raise _http_error(400, "a user's private chat has a positive id (the user id)")
        return chat_id

    # -- the user writes ---------------------------------------------------------------------
    async def send(self, request: web.Request) -> web.Response:
        user_id, body = self._user_chat(request), await _body(request)
        world = self._s.world
        user = world.user(user_id, await self._profile(user_id, body))
        content = self._content(body, user)
        chat = world.private_chat(user)
        chat.opened = True
        if chat.blocked:  # writing to a blocked bot means unblocking it first ("Restart")
            self._set_blocked(chat, user, False)
        replied = chat.find(body.get("reply_to_message_id"))
        if replied is not None:
            content = {"reply_to_message": replied.message, **content}
        if chat.reply_keyboard and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard_hidden = True
        stored = chat.add(content, sender=user)
        world.publish(chat.id, "message", message=stored.user_view())
        update_id = self._s.updates.push({"message": stored.message})
        return web.json_response({"message_id": stored.message["message_id"], "update_id": update_id})

    def _content(self, body: dict, user: dict) -> dict:
        if isinstance(body.get("text"), str):
            text, entities = formatted_text(body["text"], None, None)
            if not text:
                raise _http_error(400, "a message needs some text")
            if utf16_len(text) > TEXT_LIMIT:
                raise _http_error(400, f"a Telegram message holds at most {TEXT_LIMIT} characters")
            return {"text": text, **({"entities": entities} if entities else {})}
        contact = body.get("contact")
        phone = contact.get("phone_number") if isinstance(contact, dict) else None
        if isinstance(contact, dict) and isinstance(phone, str) and phone:
            shared = {"phone_number": contact["phone_number"],
                      "first_name": str(contact.get("first_name") or user["first_name"])}
            if contact.get("last_name"):
                shared["last_name"] = str(contact["last_name"])
            if contact.get("user_id") is not None:
                shared["user_id"] = _int(contact["user_id"], "contact.user_id")
            return {"contact": shared}
        raise _http_error(400, 'send {"text": "..."} or {"contact": {"phone_number": "..."}}')

    async def press(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        body = await _body(request)
        world = self._s.world
        chat = world.chats.get(chat_id)
        stored = chat.find(body.get("message_id")) if chat else None
        if chat is None or stored is None:
            raise _http_error(404, f"there is no message {body.get('message_id')} in chat {chat_id}")
        data = body.get("data")
        markup = stored.message.get("reply_markup") or {}
        buttons = [b for row in markup.get("inline_keyboard", ()) for b in row]
        if not any(b.get("callback_data") == data for b in buttons):
            visible = [(b["text"], b.get("callback_data")) for b in buttons]
            raise _http_error(400, f"message {stored.message['message_id']} has no button with data "
                                   f"{data!r}; its buttons: {visible}")
        sender_id = chat_id if chat.private else _int((body.get("from") or {}).get("id"), "from.id")
        user = world.user(sender_id, await self._profile(sender_id, body))
        query_id = str(secrets.randbits(63))  # Telegram's ids are decimal strings
        world.queries[query_id] = PendingQuery(chat_id, stored.message["message_id"])
        update_id = self._s.updates.push({"callback_query": {
            "id": query_id, "from": user, "message": stored.message,
            "chat_instance": chat.chat_instance, "data": data}})
        return web.json_response({"callback_query_id": query_id, "update_id": update_id})

    async def block(self, request: web.Request) -> web.Response:
        """The user blocks (or unblocks) the bot: the bot gets my_chat_member, sends get 403."""
        user_id, body = self._user_chat(request), await _body(request)
        user = self._s.world.user(user_id)
        chat = self._s.world.private_chat(user)
        update_id = self._set_blocked(chat, user, bool(body.get("blocked", True)))
        return web.json_response({"update_id": update_id})

    def _set_blocked(self, chat: Chat, user: dict, blocked: bool) -> int | None:
        if chat.blocked == blocked:
            return None
        chat.blocked, chat.opened = blocked, True
        bot = self._s.bot_user
        statuses = [{"user": bot, "status": "member"}, {"user": bot, "status": "kicked", "until_date": 0}]
        old, new = statuses if blocked else statuses[::-1]
        return self._s.updates.push({"my_chat_member": {
            "chat": chat.chat, "from": user, "date": int(time.time()),
            "old_chat_member": old, "new_chat_member": new}})

    # -- tests inject anything ------------------------------------------------------------------
    async def raw_update(self, request: web.Request) -> web.Response:
        body = await _body(request)
        kind = update_type(body)
        if kind is None or not isinstance(body[kind], dict):
            raise _http_error(400, f"an update holds one object under one of: {sorted(UPDATE_TYPES)}")
        update = {kind: dict(body[kind])}
        item = update[kind]
        if kind in _DATED:
            item.setdefault("date", int(time.time()))
        if isinstance(item.get("from"), dict) and "id" in item["from"]:
            item["from"] = self._s.world.user(_int(item["from"]["id"], "from.id"), item["from"])
        chat = self._chat_of(item)
        if kind == "my_chat_member" and chat is not None:
            status = (item.get("new_chat_member") or {}).get("status")
            chat.blocked = status in ("left", "kicked")
        if kind in _MESSAGE_KINDS:
            if chat is None:
                raise _http_error(400, "a message needs a chat with an id and a type")
            item = self._record(chat, item, edited=kind.startswith("edited_"))
            update[kind] = item
        if kind == "callback_query":
            item.setdefault("id", str(secrets.randbits(63)))
            message_id = (item.get("message") or {}).get("message_id")
            if chat is not None and isinstance(message_id, int):
                self._s.world.queries[str(item["id"])] = PendingQuery(chat.id, message_id)
        return web.json_response({"update_id": self._s.updates.push(update)})

    def _chat_of(self, item: dict) -> Chat | None:
        chat = item.get("chat") or (item.get("message") or {}).get("chat")
        if not isinstance(chat, dict) or "id" not in chat or "type" not in chat:
            return None
        known = self._s.world.register_chat({**chat, "id": _int(chat["id"], "chat.id")})
        if "chat" in item:
            item["chat"] = known.chat
        return known

    def _record(self, chat: Chat, item: dict, *, edited: bool) -> dict:
        """Keeps an injected message findable (the bot may reply to it) but out of the chat's history."""
        text = item.get("text")
        if isinstance(text, str) and "entities" not in item and (found := detect_entities(text)):
            item["entities"] = found
        content = {k: v for k, v in item.items() if k not in ("message_id", "from", "chat", "date")}
        sender = item.get("from") or {"id": 0, "is_bot": False, "first_name": "Group"}
        message_id = item.get("message_id")
        stored = chat.find(message_id) if edited else None
        if stored is not None:
            stored.message = {**stored.message, **content}
        else:
            stored = chat.add(content, sender=sender, date=item["date"],
                              message_id=_int(message_id, "message_id") if message_id is not None else None)
        stored.listed = False
        return stored.message

    # -- the phone reads --------------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        after = _int(request.query.get("after", 0), "after")
        try:
            timeout = min(max(float(request.query.get("timeout", 0)), 0.0), EVENTS_WAIT_MAX)
        except ValueError:
            raise _http_error(400, "timeout must be a number of seconds") from None
        events = await self._s.world.feed(chat_id).wait(after, timeout)
        return web.json_response({"events": events, "last": events[-1]["seq"] if events else after},
                                 dumps=_dumps)

    async def chat_state(self, request: web.Request) -> web.Response:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        world = self._s.world
        chat = world.chats.get(chat_id)
        language = request.query.get("language_code") or (world.users.get(chat_id) or {}).get("language_code")
        feed = world.feeds.get(chat_id)
        return web.json_response({
            "chat": chat.chat if chat and chat.opened else None,
            "messages": [m.user_view() for m in chat.messages.values() if m.listed and not m.deleted]
            if chat else [],
            "reply_keyboard": chat.reply_keyboard if chat else None,
            "reply_keyboard_hidden": chat.reply_keyboard_hidden if chat else False,
            "blocked": chat.blocked if chat else False,
            "commands": self._s.commands.for_chat(chat_id, chat_id if chat_id > 0 else None, language),
            "description": self._s.descriptions.get("description", language, fallback=True),
            "last": feed.last if feed else 0,
        }, dumps=_dumps)

    async def file(self, request: web.Request) -> web.Response:
        stored = self._s.files.get(request.match_info["file_id"])
        if stored is None:
            raise _http_error(404, "no such file")
        return web.Response(body=stored.content, content_type=stored.mime_type)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
