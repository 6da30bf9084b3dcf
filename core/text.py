"""Text normalisation shared by importers, search and the chat flows."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Vietnamese is stored in NFC: files and phones often send NFD."""
    return unicodedata.normalize("NFC", text)


def clean(text: str | None) -> str:
    """NFC, trimmed, inner runs of white space folded to one space."""
    if text is None:
        return ""
    return _SPACES.sub(" ", nfc(text)).strip()


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
