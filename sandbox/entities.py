"""Telegram's text formatting: HTML parse mode to plain text plus entities, and back.

Offsets and lengths count UTF-16 code units, as in the Bot API's MessageEntity. The
rules follow TDLib's `parse_html` and `fix_formatted_text` (td/telegram/MessageEntity.cpp),
which is what api.telegram.org runs: its error texts, its trimming, its merging of
touching bold/italic/... ranges and its detection of links, mentions and /commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from sandbox.entities_markdown import parse_markdown, parse_markdown_v2
from sandbox.entities_rules import EntityParseError, link_entity, utf16_len, utf16_slice

_SIMPLE_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}
_SUPPORTED_TAGS = {*_SIMPLE_TAGS, "a", "code", "pre", "blockquote", "tg-emoji"}
# TDLib keeps these as per-character flags, so touching or nested ranges of one type merge.
_SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
# TDLib's order for entities that share offset and length (get_type_priority).
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "text_mention": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
    "spoiler": 94, "custom_emoji": 99,
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\v\f"
_SENTINEL = "\x00"  # lets HTMLParser finish a reference at the very end (it drops "&T" of "AT&T")


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the plain text
    text_index: int  # index into the plain text being built


class _TelegramHtml(HTMLParser):
    """Telegram's HTML subset on top of the stdlib tokenizer; raises TDLib's errors."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(source) if ch == "\n"]
        self._parts: list[str] = []
        self._length = 0  # characters in _parts
        self._offset = 0  # UTF-16 units in _parts
        self._stack: list[_OpenTag] = []
        self.entities: list[dict] = []

    # -- positions and errors ---------------------------------------------------------
    def _index(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _byte_offset(self, index: int) -> int:
        return len(self._source[:index].encode())

    def _bad_start_tag(self, index: int) -> EntityParseError:
        end = index + 1
        while end < len(self._source) and self._source[end] not in _SPACES + ">" + _SENTINEL:
            end += 1
        at = self._byte_offset(index)
        if end >= len(self._source) or self._source[end] == _SENTINEL:
            return EntityParseError(f"Unclosed start tag at byte offset {at}")
        name = self._source[index + 1 : end].lower()
        return EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')

    # -- text -------------------------------------------------------------------------
    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += len(text)
        self._offset += utf16_len(text)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            raise self._bad_start_tag(self._index() + data.index("<"))
        self._append(data.replace(_SENTINEL, ""))

    def handle_entityref(self, name: str) -> None:
        if name in _NAMED_REFERENCES:
            self._append(_NAMED_REFERENCES[name])
            return
        index = self._index()  # unknown names stay literal text, as in TDLib
        end = index + 1 + len(name)
        self._append(self._source[index : end + (self._source[end : end + 1] == ";")])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            code = 0
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self._append(f"&#{name};")
            return
        self._append(chr(code))

    def handle_comment(self, data: str) -> None:
        raise self._bad_start_tag(self._index())

    handle_decl = unknown_decl = handle_pi = handle_comment

    # -- tags ---------------------------------------------------------------------------
    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise self._bad_start_tag(self._index())  # "<b/>" is the tag "b/" to Telegram

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        index = self._index()
        if tag not in _SUPPORTED_TAGS:
            raise self._bad_start_tag(index)
        argument = ""
        for name, value in attrs:
            if value is None:
                if tag == "blockquote" and name == "expandable":
                    argument = "expandable"
                    continue
                raise EntityParseError(f"Expected equal sign in declaration of an attribute of the tag "
                                       f'"{tag}" at byte offset {self._byte_offset(index)}')
            if (tag == "a" and name == "href") or (tag == "tg-emoji" and name == "emoji-id"):
                argument = value
            elif tag == "code" and name == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and name == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
        if tag == "span" and argument != "spoiler":
            at = self._byte_offset(index)
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self._stack.append(_OpenTag(tag, argument, self._offset, self._length))

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset(self._index())}")
        opened = self._stack.pop()
        if tag != opened.name:
            at = self._byte_offset(self._index())
            raise EntityParseError(f'Unmatched end tag at byte offset {at}, expected "</{opened.name}>", '
                                   f'found "</{tag}>"')
        if self._offset > opened.offset:
            self._close(opened, self._offset - opened.offset)

    def _close(self, opened: _OpenTag, length: int) -> None:
        entity: dict = {"offset": opened.offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_range = last is not None and (last["offset"], last["length"]) == (opened.offset, length)
        if opened.name in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[opened.name]
        elif opened.name == "blockquote":
            entity["type"] = "expandable_blockquote" if opened.argument else "blockquote"
        elif opened.name == "code":
            entity["type"] = "code"
            entity["language"] = opened.argument  # kept only if a <pre> wraps it exactly
        elif opened.name == "pre":
            entity["type"] = "pre"
            if same_range and last["type"] == "code":
                self.entities.pop()
                if last["language"]:
                    entity["language"] = last["language"]
        elif opened.name == "a":
            url = opened.argument or "".join(self._parts)[opened.text_index :]
            link = link_entity(url)
            if link is None:
                return  # TDLib drops a link it cannot check, keeping the text
            entity.update(link)
        else:
            return  # tg-emoji: custom emoji need a Fragment username; Telegram keeps the plain emoji
        self.entities.append(entity)

    def result(self) -> tuple[str, list[dict]]:
        if self._stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self._stack[-1].name}"')
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language")
        return "".join(self._parts), self.entities


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Telegram HTML to (text, entities), before trimming: see `formatted_text`."""
    source = source.replace(_SENTINEL, "")
    parser = _TelegramHtml(source + _SENTINEL)
    parser.feed(source + _SENTINEL)
    parser.close()
    return parser.result()


# -- fix_formatted_text -------------------------------------------------------------------
def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Trailing whitespace goes; leading whitespace goes up to its last line break."""
    stripped = text.rstrip(_SPACES)
    leading = len(stripped) - len(stripped.lstrip(_SPACES))
    cut = stripped.rfind("\n", 0, leading) + 1
    kept = stripped[cut:]
    start, end = utf16_len(text[:cut]), utf16_len(text[:cut]) + utf16_len(kept)
    trimmed = []
    for entity in entities:
        first, last = max(entity["offset"], start), min(entity["offset"] + entity["length"], end)
        if last > first:
            trimmed.append({**entity, "offset": first - start, "length": last - first})
    return kept, trimmed


def _merge_splittable(entities: list[dict]) -> list[dict]:
    merged = [entity for entity in entities if entity["type"] not in _SPLITTABLE]
    for kind in _SPLITTABLE:
        ranges = sorted((e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] == kind)
        runs: list[list[int]] = []
        for first, last in ranges:
            if runs and first <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], last)
            else:
                runs.append([first, last])
        merged += [{"offset": first, "length": last - first, "type": kind} for first, last in runs]
    return merged


_DETECTORS = (
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w@])")),
    ("url", re.compile(r"(?<![\w@/.])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    ("bot_command", re.compile(r"(?<![\w/\\<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)
_URL_TAIL = ".,;:!?)]}'\""
_OPAQUE = {"code", "pre", "text_link", "text_mention", "url", "email", "bot_command", "mention", "hashtag"}


def detect_entities(text: str, existing: list[dict] | None = None) -> list[dict]:
    """The entities Telegram finds by itself: links, e-mails, /commands, @mentions, #hashtags."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in existing or () if e["type"] in _OPAQUE]
    found: list[dict] = []
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            value = match.group()
            if kind == "url":
                value = value.rstrip(_URL_TAIL)
            first = utf16_len(text[: match.start()])
            last = first + utf16_len(value)
            if any(first < end and start < last for start, end in taken):
                continue
            taken.append((first, last))
            found.append({"offset": first, "length": last - first, "type": kind})
    return found


def sort_entities(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)))


def formatted_text(text: str, parse_mode: str | None, entities: list[dict] | None) -> tuple[str, list[dict]]:
    """What Telegram stores for a sent text or caption: parsed, trimmed, merged, detected, sorted."""
    if entities is None and parse_mode:
        text, entities = parse_formatted(text, parse_mode)
    text = text.replace(_SENTINEL, "")
    total = utf16_len(text)
    entities = [
        {**e, "offset": max(0, e["offset"]), "length": min(e["length"], total - max(0, e["offset"]))}
        for e in entities or () if e.get("length", 0) > 0
    ]
    text, entities = _trim(text, entities)
    entities = _merge_splittable([e for e in entities if e["length"] > 0])
    return text, sort_entities(entities + detect_entities(text, entities))


def parse_formatted(text: str, parse_mode: str) -> tuple[str, list[dict]]:
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise EntityParseError(f"Unsupported parse_mode {parse_mode}")


# -- back to HTML (for tests and the Python client) -------------------------------------------
def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tags(entity: dict) -> tuple[str, str] | None:
    kind = entity["type"]
    simple = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s",
              "spoiler": "tg-spoiler", "code": "code", "blockquote": "blockquote"}
    if kind in simple:
        return f"<{simple[kind]}>", f"</{simple[kind]}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre" and entity.get("language"):
        return f'<pre><code class="language-{_escape(entity["language"])}">', "</code></pre>"
    if kind == "pre":
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{_escape(entity["url"]).replace(chr(34), "&quot;")}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={entity["user"]["id"]}">', "</a>"
    return None  # detected entities (url, mention, ...) are plain text in HTML


def entities_to_html(text: str, entities: list[dict]) -> str:
    """Telegram HTML that parses back to `text` and the formatting `entities`."""
    marked = [(e, tags) for e in sort_entities(entities) if (tags := _tags(e))]
    bounds = sorted({0, utf16_len(text)} | {e["offset"] for e, _ in marked}
                    | {e["offset"] + e["length"] for e, _ in marked})
    out: list[str] = []
    open_: list[tuple[dict, tuple[str, str]]] = []
    for position, following in zip(bounds, [*bounds[1:], None], strict=True):
        ending = [item for item in open_ if item[0]["offset"] + item[0]["length"] <= position]
        if ending:  # close down to the first ending entity, then reopen what still runs
            first = min(open_.index(item) for item in ending)
            for _, (_, close) in reversed(open_[first:]):
                out.append(close)
            reopen = [item for item in open_[first:] if item not in ending]
            del open_[first:]
            for item in reopen:
                out.append(item[1][0])
                open_.append(item)
        for item in marked:
            if item[0]["offset"] == position:
                out.append(item[1][0])
                open_.append(item)
        if following is not None:
            out.append(_escape(utf16_slice(text, position, following - position)))
    return "".join(out)
