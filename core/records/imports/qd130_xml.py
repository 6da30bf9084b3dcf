"""XML as clinics send it, read safely: which parser, what encoding, names as compared.

Untrusted XML can abuse a DTD (entity expansion, external references); all of that
needs a DOCTYPE, and XML allows one only in the prolog, before the root element
(XML 1.0, production [22] `prolog`). So expat reads the prolog first, up to the root's
start tag: a document with a DOCTYPE goes to defusedxml's parser, which refuses
entity declarations and external references; any other (every real QĐ 130 file) to
ElementTree's C parser, which is about 5 times faster and can then meet no DTD.
Expat reads the prolog in every encoding it accepts (UTF-16 included), so the choice
does not rest on looking for ASCII bytes.

A declared encoding that the bytes contradict would mangle names silently (UTF-8
read as windows-1252) or fail as "not well-formed": it is named for what it is.
"""

from __future__ import annotations

import codecs
import enum
import pyexpat
from functools import lru_cache
from xml.etree.ElementTree import XML, Element, TreeBuilder, XMLPullParser

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from core.text import drop_invisible, nfc

# --- Names, as compared ---------------------------------------------------------

# Tag -> name as compared; a plain dict is the cheapest lookup per element. Bounded,
# since tag names come from untrusted files.
_NAMES: dict[object, str] = {}
_NAMES_KEPT = 512


def name_of(tag: object) -> str:
    name = _NAMES.get(tag)
    if name is None:
        # Names are compared without namespace and case: some exporters add both.
        name = tag.rsplit("}", 1)[-1].upper() if isinstance(tag, str) else ""
        if len(_NAMES) < _NAMES_KEPT:
            _NAMES[tag] = name
    return name


def name(element: Element) -> str:
    return name_of(element.tag)


def descendants(element: Element, wanted: str) -> list[Element]:
    tags = {e.tag for e in element.iter()}
    if wanted in tags and not any(name_of(t) == wanted for t in tags if t != wanted):
        # Spelled exactly `wanted` and in no other way: the C search finds them.
        return [e for e in element.iter(wanted) if e is not element]
    return [e for e in element.iter() if e is not element and name(e) == wanted]


def field_text(element: Element) -> str:
    """An element's text as `core.text.clean` makes it: invisible characters dropped, NFC,
    trimmed and with runs of white space made one space."""
    # Faster than `clean` itself: ASCII has nothing to drop or compose (XML allows no other
    # control characters), and str.split() and the regex `\s` agree on what white space is.
    text = element.text if len(element) == 0 else "".join(element.itertext())
    if not text:
        return ""
    return " ".join((text if text.isascii() else nfc(drop_invisible(text))).split())


def fields(element: Element) -> dict[str, str]:
    """Direct children as `{NAME: text}`; the first of a repeated name wins."""
    values: dict[str, str] = {}
    names = _NAMES
    for child in element:
        child_name = names.get(child.tag) or name(child)
        if child_name not in values:
            values[child_name] = field_text(child)
    return values


# --- Why a document is refused ----------------------------------------------------

class Refusal(enum.Enum):
    NOT_WELL_FORMED = "not well-formed"
    ENTITIES = "entities or external references"
    ENCODING_UNSUPPORTED = "unsupported encoding"
    DECLARED_BUT_UTF8 = "declares a one-byte encoding over UTF-8 bytes"
    UTF8_BUT_NOT = "declares UTF-8 over bytes that are not"


class DocumentRefused(Exception):
    """Why a document cannot be read; the caller says it in the operator's words."""

    def __init__(self, refusal: Refusal, line: int = 0, column: int = 0,
                 declared: str | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.line, self.column = line, column
        self.declared = declared


def refused(error: Exception) -> DocumentRefused:
    """A parser's failure as a `DocumentRefused`."""
    if isinstance(error, DocumentRefused):
        return error
    if isinstance(error, ParseError):
        line, column = error.position
        return DocumentRefused(Refusal.NOT_WELL_FORMED, line, column)
    if isinstance(error, DefusedXmlException):
        return DocumentRefused(Refusal.ENTITIES)
    # expat: "multi-byte encodings are not supported" (ValueError), "unknown encoding"
    # (LookupError), an encoding the codec cannot decode (UnicodeError).
    return DocumentRefused(Refusal.ENCODING_UNSUPPORTED)


PARSER_ERRORS = (ParseError, DefusedXmlException, ValueError, LookupError)


# --- The prolog -------------------------------------------------------------------

class _RootReached(Exception):
    pass


# A prolog longer than this (no real file has one) is not waited for: the safe parser reads it.
PROLOG_BYTES = 1 << 20


class Prolog:
    """What comes before the root element, read by expat as it is fed."""

    def __init__(self) -> None:
        self.declared: str | None = None  # the XML declaration's encoding, as written
        self.doctype = False  # a DOCTYPE was seen, or could not be ruled out
        self.done = False
        self.head = b""  # the first bytes, for a byte order mark
        self._fed = 0
        parser = pyexpat.ParserCreate()
        parser.XmlDeclHandler = self._declaration
        parser.StartDoctypeDeclHandler = self._stop_at_doctype
        parser.StartElementHandler = self._stop_at_root
        self._parser = parser

    def _declaration(self, version: str, encoding: str | None, standalone: int) -> None:
        self.declared = encoding

    def _stop_at_doctype(self, *_: object) -> None:
        # Stopped here: the DTD itself is left to the parser that refuses its tricks.
        self.doctype = True
        raise _RootReached

    def _stop_at_root(self, *_: object) -> None:
        raise _RootReached

    def feed(self, data: bytes, final: bool = False) -> bool:
        """Reads on; True once the prolog is known (the root or a DOCTYPE was reached)."""
        if self.done:
            return True
        if len(self.head) < 4:
            self.head = (self.head + data)[:4]
        self._fed += len(data)
        try:
            self._parser.Parse(data, final)
        except _RootReached:
            self.done = True
        except Exception:  # the document's parser reports it; meanwhile, be safe
            self.doctype = self.done = True
        else:
            if final:
                self.done = True
            elif self._fed > PROLOG_BYTES:  # not seen to its end: the safe parser
                self.doctype = self.done = True
        return self.done

    def pull_parser(self) -> XMLPullParser:
        """An incremental parser for the document, chosen by its prolog. (`_parser` is how
        CPython's own and defusedxml's `iterparse` give XMLPullParser another parser.)"""
        if self.doctype:
            return XMLPullParser(("start", "end"), _parser=DefusedXMLParser(target=TreeBuilder()))
        return XMLPullParser(("start", "end"))


def prolog_of(data: bytes) -> Prolog:
    prolog = Prolog()
    prolog.feed(data, final=True)
    return prolog


def parse_document(data: bytes, prolog: Prolog | None = None) -> Element:
    """A whole small document (an inner table), by the parser its prolog calls for."""
    if (prolog or prolog_of(data)).doctype:
        return SafeET.fromstring(data)
    return XML(data)


# --- Encodings --------------------------------------------------------------------

@lru_cache(maxsize=64)  # a handful of names, asked for on every inner table
def _family(declared: str | None) -> str | None:
    if declared is None:
        return None
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        return "unknown"
    if codec in ("utf-8", "utf-8-sig"):
        return "utf-8"
    if codec.startswith(("utf-16", "utf-32")):
        return "wide"
    return "one-byte"


def _mode(prolog: Prolog) -> str | None:
    """"utf-8" or "one-byte": the bytes are checked; None: UTF-16/32, or an encoding expat
    itself will refuse. No declaration means UTF-8 unless a byte order mark says UTF-16/32."""
    family = _family(prolog.declared)
    if family is None:
        head = prolog.head
        wide = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head
        return None if wide else "utf-8"
    return family if family in ("utf-8", "one-byte") else None


class EncodingCheck:
    """Whether the bytes, fed in turn, agree with the encoding the document declares.

    Bytes that are valid UTF-8 and not plain ASCII under a one-byte encoding's declaration
    are UTF-8 (text in windows-1252 or windows-1258 is almost never also valid UTF-8).
    UTF-16 and UTF-32 are left to expat, which checks them against their byte order.
    """

    def __init__(self, prolog: Prolog) -> None:
        self.declared = prolog.declared
        self.mode = _mode(prolog)
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self.still_utf8 = True
        self.non_ascii = False

    def feed(self, data: bytes, final: bool = False) -> None:
        if self.mode is None or not self.still_utf8:
            return
        self.non_ascii = self.non_ascii or not data.isascii()
        try:
            self._utf8.decode(data, final)
        except UnicodeDecodeError:
            self.still_utf8 = False
            if self.mode == "utf-8":
                raise DocumentRefused(Refusal.UTF8_BUT_NOT) from None
            return
        if final:
            self.contradicted()

    def contradicted(self) -> None:
        """Raises when the bytes so far show the declaration wrong (also after a parse error:
        UTF-8 bytes under windows-1252 often fail as "not well-formed" first)."""
        if self.mode == "one-byte" and self.still_utf8 and self.non_ascii:
            raise DocumentRefused(Refusal.DECLARED_BUT_UTF8, declared=(self.declared or "")[:40])


def check_encoding(data: bytes, prolog: Prolog) -> None:
    """A whole small document's declared encoding against its bytes (as `EncodingCheck`, in
    one go); raises `DocumentRefused`."""
    mode = _mode(prolog)
    if mode is None:
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        if mode == "utf-8":
            raise DocumentRefused(Refusal.UTF8_BUT_NOT) from None
        return
    if mode == "one-byte" and not data.isascii():
        raise DocumentRefused(Refusal.DECLARED_BUT_UTF8, declared=(prolog.declared or "")[:40])


__all__ = [
    "PARSER_ERRORS",
    "DocumentRefused",
    "EncodingCheck",
    "Prolog",
    "Refusal",
    "check_encoding",
    "descendants",
    "field_text",
    "fields",
    "name",
    "name_of",
    "parse_document",
    "prolog_of",
    "refused",
]
