"""Text normalisation shared by importers, search and the chat flows."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Vietnamese is stored in NFC: files and phones often send NFD."""
    return unicodedata.normalize("NFC", text)


# Characters that have no place in a stored value, whoever typed it: format characters
# (Unicode category Cf: zero-width spaces and joiners, bidi embeddings, overrides and
# marks, soft hyphens, tags) are invisible and can make a text read otherwise than it is
# stored ("Trojan Source", CVE-2021-42574); controls (Cc) other than white space (NUL,
# ESC, DEL) break PostgreSQL text and terminals; a lone surrogate (Cs) cannot be stored
# as UTF-8. White space, line and paragraph separators included, is folded by `clean`.
_INVISIBLE = frozenset({"Cf", "Cc", "Cs"})
# Embeddings, overrides and isolates (Unicode Bidirectional Algorithm, UAX #9): unlike a
# zero-width space they reorder what is shown, so the letters seen are not those stored.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def drop_invisible(text: str) -> str:
    """Invisible format and control characters dropped: `Hàng<ZWSP>Bạc` -> `HàngBạc`."""
    if text.isprintable():  # nearly every value: checked at C speed, returned as it is
        return text
    return "".join(ch for ch in text if ch.isprintable() or ch.isspace()
                   or unicodedata.category(ch) not in _INVISIBLE)


def clean(text: str | None) -> str:
    """Invisible characters dropped, NFC, trimmed, inner runs of white space folded to one space."""
    if text is None:
        return ""
    # Dropped before NFC: a zero-width joiner between a letter and its tone mark would
    # otherwise keep them from composing.
    return _SPACES.sub(" ", nfc(drop_invisible(text))).strip()


def strip_diacritics(text: str) -> str:
    """`Nguyễn Thị Đào` -> `Nguyen Thi Dao` (đ/Đ are letters, not accents, in Unicode)."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.replace("đ", "d").replace("Đ", "D")


def fold(text: str) -> str:
    """A search key: no diacritics, lower case, letters and digits only.

    `Ê-đê`, `Ê Đê` and `ede` all fold to `ede`.
    """
    return _NON_ALNUM.sub("", strip_diacritics(text).lower())
