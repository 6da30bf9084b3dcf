"""What the bot says about itself: command menus per scope and language, and its descriptions.

The menu lookup is the Bot API's "Determining list of commands": the most specific scope with
the user's language first, then without a language, down to the default scope.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sandbox.emulator_params import bad_request

_SCOPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
           "chat", "chat_administrators", "chat_member"}
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")

ScopeKey = tuple[str, Any, Any]


def scope_key(scope: Any) -> ScopeKey:
    if scope is None:
        return ("default", None, None)
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind.startswith("chat") and scope.get("chat_id") in (None, ""):
        raise bad_request("chat_id is empty")
    if kind == "chat_member" and not isinstance(scope.get("user_id"), int):
        raise bad_request("user_id is empty")
    return (kind, scope.get("chat_id"), scope.get("user_id"))


def _language(code: Any) -> str:
    if code in (None, ""):
        return ""
    if not isinstance(code, str) or not re.fullmatch(r"[a-zA-Z]{2}", code):
        raise bad_request("LANG_CODE_INVALID")
    return code.lower()


class CommandMenus:
    def __init__(self) -> None:
        self._menus: dict[tuple[ScopeKey, str], list[dict]] = {}

    def set(self, commands: Any, scope: Any, language_code: Any) -> None:
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        menu = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", "")).strip()
            if not _COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            menu.append({"command": name, "description": description})
        key = (scope_key(scope), _language(language_code))
        if menu:
            self._menus[key] = menu
        else:
            self._menus.pop(key, None)

    def get(self, scope: Any, language_code: Any) -> list[dict]:
        return list(self._menus.get((scope_key(scope), _language(language_code)), []))

    def delete(self, scope: Any, language_code: Any) -> None:
        self._menus.pop((scope_key(scope), _language(language_code)), None)

    def for_chat(self, chat_id: int, user_id: int | None, language_code: str | None) -> list[dict]:
        """The menu a user sees in a chat, with their app's language."""
        language = (language_code or "").split("-")[0].lower()
        if chat_id > 0:
            scopes: list[ScopeKey] = [("chat", chat_id, None), ("all_private_chats", None, None)]
        else:
            scopes = [("chat_member", chat_id, user_id), ("chat", chat_id, None),
                      ("all_group_chats", None, None)]
        scopes.append(("default", None, None))
        for scope in scopes:
            for lang in (language, ""):
                if (scope, lang) in self._menus:
                    return list(self._menus[(scope, lang)])
        return []


class BotDescriptions:
    """setMyDescription (shown in an empty chat) and setMyShortDescription, per language."""

    LIMITS: ClassVar[dict[str, int]] = {"description": 512, "short_description": 120}

    def __init__(self) -> None:
        self._texts: dict[tuple[str, str], str] = {}

    def set(self, kind: str, text: Any, language_code: Any) -> None:
        text = str(text or "")
        if len(text) > self.LIMITS[kind]:
            raise bad_request(f"{kind.replace('_', ' ')} is too long")
        key = (kind, _language(language_code))
        if text:
            self._texts[key] = text
        else:
            self._texts.pop(key, None)

    def get(self, kind: str, language_code: Any, *, fallback: bool = False) -> str:
        language = _language(language_code) if not fallback else (language_code or "").split("-")[0].lower()
        return self._texts.get((kind, language)) or (self._texts.get((kind, ""), "") if fallback else "")
