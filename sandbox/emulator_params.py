"""Reading a Bot API call the way api.telegram.org does: JSON, urlencoded or multipart, typed.

Form encodings carry every value as a string and nested objects as JSON text (that is how
python-telegram-bot sends them), so each parameter is converted by its name, as the server does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.entities import formatted_text
from sandbox.entities_rules import EntityParseError, utf16_len


class ApiError(Exception):
    """A Bot API error answer: {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


_INTEGERS = {"message_id", "offset", "limit", "timeout", "max_connections", "cache_time", "user_id",
             "message_thread_id", "reply_to_message_id", "from_chat_id"}
_BOOLEANS = {"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
             "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
             "show_caption_above_media", "allow_paid_broadcast", "revoke"}
_OBJECTS = {  # parameter -> the words of Telegram's "can't parse ... JSON object" error
    "reply_markup": "reply keyboard markup", "entities": "entities", "caption_entities": "caption entities",
    "link_preview_options": "link preview options", "reply_parameters": "reply parameters",
    "allowed_updates": "allowed updates", "commands": "commands", "scope": "BotCommandScope",
    "message_ids": "message identifiers", "menu_button": "menu button",
}


@dataclass
class Call:
    """One Bot API call: its typed parameters and any uploaded files."""

    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def require(self, name: str, missing: str) -> Any:
        value = self.params.get(name)
        if value is None or value == "":
            raise bad_request(missing)
        return value


async def read_call(request: web.Request) -> Call:
    call = Call()
    raw: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        kind = request.content_type
        if kind == "application/json":
            try:
                body = await request.json()
            except ValueError as error:
                raise bad_request("can't parse JSON encoded request body") from error
            if not isinstance(body, dict):
                raise bad_request("JSON object expected as request body")
            raw.update(body)
        elif kind == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename is not None:  # type: ignore[union-attr]
                    content = await part.read()  # type: ignore[union-attr]
                    call.files[part.name or ""] = Upload(part.filename, bytes(content))  # type: ignore[union-attr]
                else:
                    raw[part.name or ""] = await part.text()  # type: ignore[union-attr]
        else:
            raw.update(await request.post())
    for name, value in raw.items():
        call.params[name] = _typed(name, value)
    return call


def _typed(name: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if name == "chat_id":
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername"
    if name in _INTEGERS:
        try:
            return int(value)
        except ValueError as error:
            raise bad_request(f"invalid {name} specified") from error
    if name in _BOOLEANS:
        return value.lower() in ("true", "1")
    if name in _OBJECTS:
        try:
            return json.loads(value)
        except ValueError as error:
            raise bad_request(f"can't parse {_OBJECTS[name]} JSON object") from error
    return value


# -- text and captions -----------------------------------------------------------------------
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024


def parse_text(call: Call, name: str = "text", *, required: bool = True) -> tuple[str, list[dict]]:
    """Text or caption with its entities, validated with Telegram's errors and limits."""
    source = call.get(name) or ""
    entities_name = "entities" if name == "text" else "caption_entities"
    entities = call.get(entities_name)
    if entities is not None and not (isinstance(entities, list) and all(_is_entity(e) for e in entities)):
        raise bad_request(f"can't parse {entities_name.replace('_', ' ')} JSON object")
    parse_mode = call.get("parse_mode") or None
    if parse_mode is not None and str(parse_mode).lower() not in ("html", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    try:
        text, parsed = formatted_text(str(source), parse_mode, entities)
    except EntityParseError as error:
        raise bad_request(f"can't parse entities: {error}") from error
    if name == "text":
        if required and not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
    elif utf16_len(text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return text, parsed


def _is_entity(entity: Any) -> bool:
    return (isinstance(entity, dict) and isinstance(entity.get("type"), str)
            and isinstance(entity.get("offset"), int) and isinstance(entity.get("length"), int))


# -- keyboards ---------------------------------------------------------------------------------
_INLINE_ACTIONS = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
_MARKUP_ERROR = "can't parse reply keyboard markup JSON object"


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> dict | None:
    """A validated reply_markup, with Telegram's errors; None when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request(_MARKUP_ERROR)
    if "inline_keyboard" in markup:
        _check_rows(markup["inline_keyboard"], _check_inline_button)
        return markup
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        _check_rows(markup["keyboard"], _check_keyboard_button)
        markup["keyboard"] = [[b if isinstance(b, dict) else {"text": b} for b in row]
                              for row in markup["keyboard"]]
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request(_MARKUP_ERROR)


def _check_rows(rows: Any, check_button: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("field \"inline_keyboard\" must be an Array" if check_button is _check_inline_button
                          else "field \"keyboard\" must be an Array")
    if sum(len(row) for row in rows) > 100:
        raise bad_request("too many buttons in the keyboard" if check_button is _check_keyboard_button
                          else "BUTTONS_TOO_MUCH")
    for row in rows:
        for button in row:
            check_button(button)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    actions = [name for name in _INLINE_ACTIONS if name in button]
    if not actions:
        raise bad_request("can't parse inline keyboard button: "
                          "Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not str(button["url"]).strip():
        raise bad_request("BUTTON_URL_INVALID")
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")


def _check_keyboard_button(button: Any) -> None:
    text = button if isinstance(button, str) else button.get("text") if isinstance(button, dict) else None
    if not isinstance(text, str):
        raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
