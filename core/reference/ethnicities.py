"""The 54 ethnic groups of Việt Nam with their national statistics codes.

Codes and names follow the General Statistics Office list (QĐ 121-TCTK/PPCĐ,
used by QĐ 130 MA_DANTOC). Group names are proper names: shown as-is in every
language, like place names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from core.text import fold


@dataclass(frozen=True)
class Ethnicity:
    code: str
    name: str


_GROUPS = """
01 Kinh|02 Tày|03 Thái|04 Hoa|05 Khơ-me|06 Mường|07 Nùng|08 Hmông|09 Dao|10 Gia-rai
11 Ngái|12 Ê-đê|13 Ba-na|14 Xơ-đăng|15 Sán Chay|16 Cơ-ho|17 Chăm|18 Sán Dìu|19 Hrê
20 Mnông|21 Ra-glai|22 Xtiêng|23 Bru-Vân Kiều|24 Thổ|25 Giáy|26 Cơ-tu|27 Gié-Triêng
28 Mạ|29 Khơ-mú|30 Co|31 Tà-ôi|32 Chơ-ro|33 Kháng|34 Xinh-mun|35 Hà Nhì|36 Chu-ru
37 Lào|38 La Chí|39 La Ha|40 Phù Lá|41 La Hủ|42 Lự|43 Lô Lô|44 Chứt|45 Mảng|46 Pà Thẻn
47 Cơ Lao|48 Cống|49 Bố Y|50 Si La|51 Pu Péo|52 Brâu|53 Ơ-đu|54 Rơ-măm
"""

# Other spellings residents and source systems use for the same group.
_ALIASES = {
    "viet": "01",
    "khmer": "05",
    "mong": "08",
    "hmong": "08",
    "bana": "13",
    "xedang": "14",
    "koho": "16",
    "cham": "17",
    "bru": "23",
    "vankieu": "23",
    "katu": "26",
    "taoi": "31",
    "khmu": "29",
}


@cache
def ethnicities() -> dict[str, Ethnicity]:
    groups: dict[str, Ethnicity] = {}
    for item in _GROUPS.replace("\n", "|").split("|"):
        item = item.strip()
        if item:
            code, name = item.split(" ", 1)
            groups[code] = Ethnicity(code, name)
    return groups


@cache
def _by_key() -> dict[str, str]:
    keys = {fold(e.name): e.code for e in ethnicities().values()}
    keys.update(_ALIASES)
    return keys


def ethnicity_by_code(code: str) -> Ethnicity | None:
    return ethnicities().get(code)


def find_ethnicity(text: str) -> Ethnicity | None:
    """A code (`1`, `01`) or a name in any spelling (`Ê Đê`, `ede`, `Khmer`)."""
    value = text.strip()
    if value.isdigit():
        return ethnicities().get(value.zfill(2))
    code = _by_key().get(fold(value))
    return ethnicities().get(code) if code else None


def search_ethnicities(query: str, limit: int = 10) -> list[Ethnicity]:
    """Diacritics-insensitive search by the start of a name or an alias."""
    key = fold(query)
    if not key:
        return []
    codes = sorted({code for alias, code in _by_key().items() if alias.startswith(key)})
    if not codes:
        codes = sorted({code for alias, code in _by_key().items() if key in alias})
    return [ethnicities()[code] for code in codes[:limit]]
