"""The Bot API methods the sandbox answers, with Telegram's result shapes and error texts."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientTimeout

from sandbox.emulator_files import PhotoRejected, StoredFile
from sandbox.emulator_params import ApiError, Call, bad_request, check_reply_markup, parse_text
from sandbox.emulator_state import Chat, Sandbox, StoredMessage
from sandbox.emulator_webhook import Webhook

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note",
                "upload_video_note"}
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True)
class Described:
    """A result that Telegram answers with a description too, e.g. "Webhook was set"."""

    result: Any
    description: str


class BotApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self._s = sandbox
        handlers: dict[str, Callable[[Call], Awaitable[Any]]] = {
            "getMe": self.get_me, "logOut": self.harmless, "close": self.harmless,
            "getUpdates": self.get_updates, "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook, "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands, "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.set_my_description, "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setChatMenuButton": self.set_chat_menu_button, "getChatMenuButton": self.get_chat_menu_button,
            "sendMessage": self.send_message, "sendPhoto": self.send_photo, "getFile": self.get_file,
            "editMessageText": self.edit_message_text, "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "editMessageMedia": self.edit_message_media,
            "answerCallbackQuery": self.answer_callback_query, "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages, "sendChatAction": self.send_chat_action,
            "leaveChat": self.leave_chat, "getChat": self.get_chat,
        }
        # Telegram's method names are case-insensitive.
        self._methods = {name.lower(): handler for name, handler in handlers.items()}

    def knows(self, method: str) -> bool:
        return method.lower() in self._methods

    async def call(self, method: str, call: Call) -> Any:
        return await self._methods[method.lower()](call)

    # -- the bot and its updates ------------------------------------------------------------
    async def get_me(self, call: Call) -> dict:
        return {**self._s.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}

    async def harmless(self, call: Call) -> bool:
        return True

    async def get_updates(self, call: Call) -> list[dict]:
        return await self._s.updates.get(call.get("offset", 0), call.get("limit", 100),
                                         call.get("timeout", 0), call.get("allowed_updates"))

    async def set_webhook(self, call: Call) -> Described:
        url = str(call.get("url") or "")
        drop = bool(call.get("drop_pending_updates"))
        if not url:
            return await self.delete_webhook(call)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = call.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = min(max(int(call.get("max_connections", 40)), 1), 100)
        updates = self._s.updates
        same = (updates.webhook is not None and updates.webhook.url == url
                and updates.webhook.secret_token == secret)
        updates.set_allowed(call.get("allowed_updates"))
        updates.set_webhook(url, secret, max_connections, drop)
        return Described(True, "Webhook is already set" if same else "Webhook was set")

    async def delete_webhook(self, call: Call) -> Described:
        had = self._s.updates.delete_webhook(bool(call.get("drop_pending_updates")))
        return Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def get_webhook_info(self, call: Call) -> dict:
        updates = self._s.updates
        webhook: Webhook | None = updates.webhook
        if webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": updates.pending_count}
        return webhook.info(updates.pending_count, updates.allowed)

    # -- what the bot says about itself --------------------------------------------------------
    async def set_my_commands(self, call: Call) -> bool:
        self._s.commands.set(call.require("commands", "parameter \"commands\" is required"),
                             call.get("scope"), call.get("language_code"))
        return True

    async def get_my_commands(self, call: Call) -> list[dict]:
        return self._s.commands.get(call.get("scope"), call.get("language_code"))

    async def delete_my_commands(self, call: Call) -> bool:
        self._s.commands.delete(call.get("scope"), call.get("language_code"))
        return True

    async def set_my_description(self, call: Call) -> bool:
        self._s.descriptions.set("description", call.get("description"), call.get("language_code"))
        return True

    async def get_my_description(self, call: Call) -> dict:
        return {"description": self._s.descriptions.get("description", call.get("language_code"))}

    async def set_my_short_description(self, call: Call) -> bool:
        self._s.descriptions.set("short_description", call.get("short_description"),
                                 call.get("language_code"))
        return True

    async def get_my_short_description(self, call: Call) -> dict:
        return {"short_description": self._s.descriptions.get("short_description", call.get("language_code"))}

    async def set_chat_menu_button(self, call: Call) -> bool:
        button = call.get("menu_button")
        if not isinstance(button, dict):
            button = {"type": "default"}
        self._s.menu_buttons[call.get("chat_id")] = button
        return True

    async def get_chat_menu_button(self, call: Call) -> dict:
        return self._s.menu_buttons.get(call.get("chat_id"), {"type": "commands"})

    # -- chats -------------------------------------------------------------------------------
    def _chat(self, call: Call) -> Chat:
        chat_id = call.require("chat_id", "chat_id is empty")
        chat = self._s.world.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or not chat.opened:
            raise bad_request("chat not found")
        return chat

    def _recipient(self, call: Call) -> Chat:
        chat = self._chat(call)
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user" if chat.private
                           else "Forbidden: bot is not a member of the group chat")
        return chat

    async def get_chat(self, call: Call) -> dict:
        chat = self._chat(call)
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), False)
        return {**chat.chat, "accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts}

    async def leave_chat(self, call: Call) -> bool:
        chat = self._chat(call)
        if not chat.private and not chat.blocked:
            chat.blocked = True
            now = int(time.time())
            member = {"user": self._s.bot_user, "status": "member"}
            self._s.updates.push({"my_chat_member": {
                "chat": chat.chat, "from": self._s.bot_user, "date": now,
                "old_chat_member": member, "new_chat_member": {**member, "status": "left"}}})
        return True

    async def send_chat_action(self, call: Call) -> bool:
        chat = self._recipient(call)
        action = call.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._s.world.publish(chat.id, "chat_action", action=action)
        return True

    # -- sending -----------------------------------------------------------------------------
    def _reply_to(self, call: Call, chat: Chat) -> dict | None:
        parameters = call.get("reply_parameters") or {}
        if not isinstance(parameters, dict):
            raise bad_request("can't parse reply parameters JSON object")
        message_id = parameters.get("message_id", call.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = chat.find(message_id)
        if target is None:
            if parameters.get("allow_sending_without_reply", call.get("allow_sending_without_reply")):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.message.items() if k != "reply_to_message"}

    def _deliver(self, call: Call, chat: Chat, content: dict, markup: dict | None) -> dict:
        reply = self._reply_to(call, chat)
        if reply is not None:
            content = {"reply_to_message": reply, **content}
        if call.get("protect_content"):
            content["has_protected_content"] = True
        stored = chat.add(content, sender=self._s.bot_user, markup=markup)
        self._s.world.publish(chat.id, "message", message=stored.user_view())
        return stored.message

    async def send_message(self, call: Call) -> dict:
        chat = self._recipient(call)
        text, entities = parse_text(call)
        markup = check_reply_markup(call.get("reply_markup"))
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        preview = call.get("link_preview_options")
        if call.get("disable_web_page_preview"):
            preview = {"is_disabled": True}
        if isinstance(preview, dict):
            content["link_preview_options"] = preview
        return self._deliver(call, chat, content, markup)

    async def send_photo(self, call: Call) -> dict:
        chat = self._recipient(call)
        photo = await self._photo(call)
        caption, entities = parse_text(call, "caption", required=False)
        markup = check_reply_markup(call.get("reply_markup"))
        content: dict[str, Any] = {"photo": [photo.photo_size()]}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        if call.get("show_caption_above_media"):
            content["show_caption_above_media"] = True
        if call.get("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._deliver(call, chat, content, markup)

    async def _photo(self, call: Call) -> StoredFile:
        value = call.get("photo")
        upload = call.files.get("photo")
        if upload is None and isinstance(value, str) and value.startswith("attach://"):
            upload = call.files.get(value.removeprefix("attach://"))
        if upload is not None:
            return self._store_photo(upload.content)
        if not value or not isinstance(value, str):
            raise bad_request("there is no photo in the request")
        known = self._s.files.get(value)
        if known is not None:
            return known
        if value.startswith(("http://", "https://")):
            try:
                async with self._s.session().get(value, timeout=ClientTimeout(total=10)) as response:
                    if response.status != 200:
                        raise bad_request("failed to get HTTP URL content")
                    return self._store_photo(await response.read())
            except (ClientError, TimeoutError) as error:
                raise bad_request("failed to get HTTP URL content") from error
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _store_photo(self, content: bytes) -> StoredFile:
        try:
            return self._s.files.add_photo(content)
        except PhotoRejected as error:
            raise bad_request(str(error)) from error

    async def get_file(self, call: Call) -> dict:
        stored = self._s.files.get(str(call.get("file_id") or ""))
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return stored.file()

    # -- editing and deleting ------------------------------------------------------------------
    def _editable(self, call: Call) -> tuple[Chat, StoredMessage]:
        if call.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # the sandbox has no inline mode
        chat = self._chat(call)
        stored = chat.find(call.get("message_id"))
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        return chat, stored

    def _edit(self, chat: Chat, stored: StoredMessage, body: dict, markup: dict | None) -> dict:
        old = stored.message
        if all(old.get(key) == value for key, value in body.items()) and old.get("reply_markup") == markup:
            raise bad_request(NOT_MODIFIED)
        message = {k: v for k, v in old.items() if k not in (*body, "reply_markup", "edit_date")}
        message.update({key: value for key, value in body.items() if value})
        message["edit_date"] = int(time.time())
        if markup is not None:
            message["reply_markup"] = markup
        stored.message, stored.markup = message, markup
        self._s.world.publish(chat.id, "edit", message=stored.user_view())
        return message

    async def edit_message_text(self, call: Call) -> dict:
        chat, stored = self._editable(call)
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        text, entities = parse_text(call)
        markup = check_reply_markup(call.get("reply_markup"), inline_only=True)
        body = {"text": text, "entities": entities or None}
        preview = call.get("link_preview_options")
        if isinstance(preview, dict):
            body["link_preview_options"] = preview
        return self._edit(chat, stored, body, markup)

    async def edit_message_caption(self, call: Call) -> dict:
        chat, stored = self._editable(call)
        if "photo" not in stored.message:
            raise bad_request("there is no caption in the message to edit")
        caption, entities = parse_text(call, "caption", required=False)
        markup = check_reply_markup(call.get("reply_markup"), inline_only=True)
        body = {"caption": caption or None, "caption_entities": entities or None}
        return self._edit(chat, stored, body, markup)

    async def edit_message_media(self, call: Call) -> dict:
        """A photo message's picture and caption replaced (the only media the bot sends)."""
        chat, stored = self._editable(call)
        media = call.get("media")
        if isinstance(media, str):
            try:
                media = json.loads(media)
            except ValueError:
                raise bad_request("can't parse InputMedia JSON object") from None
        if not isinstance(media, dict) or media.get("type") not in ("photo", "video", "animation",
                                                                     "audio", "document"):
            raise bad_request("can't parse InputMedia JSON object")
        if media["type"] != "photo":
            raise bad_request("the sandbox edits photos only")  # the bot sends no other media
        if "photo" not in stored.message:
            raise bad_request("there is no media in the message to edit")
        inner = Call({**media, "photo": media.get("media")}, call.files)
        photo = await self._photo(inner)
        caption, entities = parse_text(inner, "caption", required=False)
        markup = check_reply_markup(call.get("reply_markup"), inline_only=True)
        body = {"photo": [photo.photo_size()], "caption": caption or None,
                "caption_entities": entities or None}
        return self._edit(chat, stored, body, markup)

    async def edit_message_reply_markup(self, call: Call) -> dict:
        chat, stored = self._editable(call)
        return self._edit(chat, stored, {}, check_reply_markup(call.get("reply_markup"), inline_only=True))

    async def delete_message(self, call: Call) -> bool:
        chat = self._chat(call)
        self._delete(chat, call.get("message_id"))
        return True

    async def delete_messages(self, call: Call) -> bool:
        chat = self._chat(call)
        message_ids = call.get("message_ids")
        if not isinstance(message_ids, list) or not 1 <= len(message_ids) <= 100:
            raise bad_request("message_ids is empty" if not message_ids else "too many message identifiers")
        for message_id in message_ids:
            if chat.find(message_id) is not None:
                self._delete(chat, message_id)
        return True

    def _delete(self, chat: Chat, message_id: Any) -> None:
        stored = chat.find(message_id)
        if stored is None:
            raise bad_request("message to delete not found")
        if not chat.private and not stored.from_bot:
            raise bad_request("message can't be deleted")  # the sandbox's bot is no group admin
        stored.deleted = True
        self._s.world.publish(chat.id, "delete", message={"message_id": message_id})

    # -- callback queries ----------------------------------------------------------------------
    async def answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.get("callback_query_id") or "")
        pending = self._s.world.queries.pop(query_id, None)
        if pending is None:
            raise bad_request(QUERY_TOO_OLD)
        text = str(call.get("text") or "")
        if len(text) > 200:
            self._s.world.queries[query_id] = pending
            raise bad_request("MESSAGE_TOO_LONG")
        self._s.world.publish(pending.chat_id, "callback_answer", callback_answer={
            "callback_query_id": query_id, "text": text, "show_alert": bool(call.get("show_alert")),
            "message_id": pending.message_id, **({"url": call.get("url")} if call.get("url") else {})})
        return True
