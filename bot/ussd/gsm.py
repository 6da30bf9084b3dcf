"""Text for a USSD screen: the GSM 03.38 default alphabet, measured in septets.

Vietnamese USSD menus are written without diacritics (DOMAIN.md): the catalogue's
Vietnamese text loses its accents here, and symbols the alphabet lacks become
plain ones (“” -> ", ✅ -> (x)) or go (emoji).
"""

from __future__ import annotations

import re

from core.text import nfc, strip_diacritics

# GSM 03.38 default alphabet; the extension table's characters cost two septets each.
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
EXTENSION = frozenset("^{}\\[~]|€\f")

# Symbols the flows use, as a keypad phone can show them. Anything else outside the
# alphabet (emoji, arrows) is dropped.
_PLAIN = str.maketrans({
    "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "•": "-", "·": "-",
    "…": "...", "−": "-", "✅": "(x)", "⬜": "( )", "▶": ">", "◀": "<", "→": "->", "×": "x", "\u00a0": " ",
    "[": "(", "]": ")", "{": "(", "}": ")", "|": "/", "~": "-", "^": "", "\\": "/", "€": "EUR",
})
_SPACES = re.compile(r"[ \t]+")


def to_gsm7(text: str) -> str:
    """`Sổ sức khỏe điện tử ✅` -> `So suc khoe dien tu (x)`: one septet per character."""
    plain = strip_diacritics(nfc(text)).translate(_PLAIN)
    kept = "".join(ch for ch in plain if ch in BASIC and ch != "\r")
    lines = (_SPACES.sub(" ", line).strip() for line in kept.split("\n"))
    return "\n".join(lines).strip("\n")


def septets(text: str) -> int:
    """The length of `text` on a GSM-7 screen (an extension character counts twice)."""
    return sum(2 if ch in EXTENSION else 1 for ch in text)


def is_gsm7(text: str) -> bool:
    return all(ch in BASIC or ch in EXTENSION for ch in text)
