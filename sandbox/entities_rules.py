"""What every Telegram parse mode shares: offsets in UTF-16 units, TDLib's link check, its errors.

`entities` (HTML, and the formatting Telegram applies to any text) and `entities_markdown`
(MarkdownV2 and legacy Markdown) both build on this module, so their imports point one way.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit


class EntityParseError(ValueError):
    """The text is not valid in its parse mode; str(error) is TDLib's wording."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def link_entity(url: str) -> dict | None:
    """The entity of a link as TDLib checks it (an `<a href>` or `[text](url)`), or None to drop it."""
    url = url.strip()
    user = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if user:
        return {"type": "text_mention", "user": {"id": int(user[1]), "is_bot": False, "first_name": ""}}
    if url.startswith("tg://"):
        return {"type": "text_link", "url": url}
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https", "ton") or not parts.hostname or " " in url:
        return None
    if not parts.path and not parts.query and not parts.fragment:
        url += "/"  # TDLib's normalised form: "https://t.me" becomes "https://t.me/"
    return {"type": "text_link", "url": url}
