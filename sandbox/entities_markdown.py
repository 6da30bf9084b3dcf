"""Telegram's MarkdownV2 and legacy Markdown parse modes, after TDLib's `parse_markdown_v2`.

HTML is what this project's bot sends; these exist so that a handler using Markdown meets
Telegram's own strictness (every reserved character escaped) in tests instead of in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sandbox.entities_rules import EntityParseError, link_entity, utf16_len

_RESERVED = "_*[]()~`>#+-=|{}.!"
_TYPE_NAMES = {  # TDLib prints entity types like this in its errors
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl", "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    offset: int
    byte_offset: int
    text_index: int
    language: str = ""


@dataclass
class _Builder:
    source: str
    parts: list[str] = field(default_factory=list)
    length: int = 0
    offset: int = 0
    entities: list[dict] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        self.offset += utf16_len(text)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode())

    def text(self) -> str:
        return "".join(self.parts)


def _at(text: str, index: int) -> str:
    return text[index] if index < len(text) else ""


def _is_end(kind: str, text: str, i: int) -> bool:
    c = text[i]
    return {
        "bold": c == "*", "italic": c == "_" and _at(text, i + 1) != "_", "code": c == "`",
        "pre": text.startswith("```", i), "text_link": c == "]", "custom_emoji": c == "]",
        "underline": text.startswith("__", i), "strikethrough": c == "~", "spoiler": text.startswith("||", i),
    }[kind]


def _reserved(text: str, i: int) -> EntityParseError:
    return EntityParseError(f"Character '{text[i]}' is reserved and must be escaped with the preceding '\\'")


def _open(text: str, i: int, out: _Builder) -> tuple[_Open, int]:
    """The entity starting at text[i]; returns it and the index of its last marker character."""
    c, nxt = text[i], _at(text, i + 1)
    start = _Open("", out.offset, out.byte_offset(i), out.length)
    if c == "_":
        start.kind = "underline" if nxt == "_" else "italic"
        return start, i + (nxt == "_")
    if c in "*~":
        start.kind = "bold" if c == "*" else "strikethrough"
        return start, i
    if c == "|" and nxt == "|":
        start.kind = "spoiler"
        return start, i + 1
    if c == "[":
        start.kind = "text_link"
        return start, i
    if c == "!" and nxt == "[":
        start.kind = "custom_emoji"
        return start, i + 1
    if c == "`" and not text.startswith("```", i):
        start.kind = "code"
        return start, i
    if c == "`":
        start.kind, i = "pre", i + 3
        end = i
        while end < len(text) and not text[end].isspace() and text[end] != "`":
            end += 1
        if end != i and end < len(text) and text[end] != "`":
            start.language, i = text[i:end], end
        if _at(text, i) in ("\n", "\r"):  # one line break after the opening fence is not content
            i += 2 if _at(text, i + 1) in ("\n", "\r") and text[i] != text[i + 1] else 1
        return start, i - 1
    raise _reserved(text, i)


def _close(opened: _Open, text: str, i: int, out: _Builder) -> int:
    """Ends `opened` at text[i]; returns the index of its last marker character."""
    if opened.kind in ("underline", "spoiler"):
        i += 1
    elif opened.kind == "pre":
        i += 2
    entity: dict | None = {"offset": opened.offset, "length": out.offset - opened.offset, "type": opened.kind}
    if opened.kind == "pre" and opened.language:
        entity["language"] = opened.language
    if opened.kind in ("text_link", "custom_emoji"):
        url = out.text()[opened.text_index :]
        if _at(text, i + 1) == "(":
            i += 2
            url_start, chars = i, []
            while i < len(text) and text[i] != ")":
                if text[i] == "\\" and 0 < ord(_at(text, i + 1) or "\0") <= 126:
                    chars.append(text[i + 1])
                    i += 2
                    continue
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise EntityParseError(f"Can't find end of a URL at byte offset {out.byte_offset(url_start)}")
            url = "".join(chars)
        link = link_entity(url) if opened.kind == "text_link" else None
        entity = {**entity, **link} if link else None
    if entity and entity["length"] > 0:
        out.entities.append(entity)
    return i


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    out = _Builder(text)
    stack: list[_Open] = []
    quote_start: int | None = None
    i = 0
    while i < len(text):
        c = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and quote_start is not None and c != ">":
            _end_quote(out, quote_start)
            quote_start = None
        if c == "\\" and 0 < ord(_at(text, i + 1) or "\0") <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if c not in ("`" if in_code else _RESERVED):
            out.add(c)
        elif c == ">" and at_line_start and not stack:
            quote_start = out.offset if quote_start is None else quote_start
        elif stack and _is_end(stack[-1].kind, text, i):
            i = _close(stack.pop(), text, i, out)
        else:
            opened, i = _open(text, i, out)
            stack.append(opened)
        i += 1
    if stack:
        last = stack[-1]
        raise EntityParseError(f"Can't find end of {_TYPE_NAMES[last.kind]} entity at byte offset "
                               f"{last.byte_offset}")
    if quote_start is not None:
        _end_quote(out, quote_start)
    return out.text(), out.entities


def _end_quote(out: _Builder, start: int) -> None:
    length = out.offset - start
    if out.parts and out.parts[-1] == "\n":
        length -= 1  # the line break after the last quoted line is outside the quote
    if length > 0:
        out.entities.append({"offset": start, "length": length, "type": "blockquote"})


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder(text)
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and _at(text, i + 1) in ("_", "*", "`", "["):
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            out.add(c)
            i += 1
            continue
        fence = "```" if text.startswith("```", i) else ("]" if c == "[" else c)
        start = i + len(fence) if fence != "]" else i + 1
        end = text.find(fence, start)
        if end == -1:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset "
                                   f"{out.byte_offset(i)}")
        inner, offset = text[start:end], out.offset
        i = end + len(fence)
        kind = {"_": "italic", "*": "bold", "`": "code", "```": "pre", "]": "text_link"}[fence]
        entity: dict | None = {"offset": offset, "length": utf16_len(inner), "type": kind}
        if kind == "text_link":
            close = text.find(")", i)
            if _at(text, i) != "(" or close == -1:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset "
                                       f"{out.byte_offset(start - 1)}")
            link = link_entity(text[i + 1 : close])
            entity = {**entity, **link} if link else None
            i = close + 1
        elif kind == "pre" and re.fullmatch(r"[^\s`]+\n(?s:.*)", inner):
            language, inner = inner.split("\n", 1)
            entity = {"offset": offset, "length": utf16_len(inner), "type": "pre", "language": language}
        out.add(inner)
        if entity and entity["length"]:
            out.entities.append(entity)
    return out.text(), out.entities
