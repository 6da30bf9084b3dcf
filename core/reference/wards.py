"""Hanoi's 126 commune-level units (phường/xã) since 01/07/2025.

The list comes from the `vietnam-provinces` package; codes are 5-digit strings
with leading zeros (`00070` is Phường Hoàn Kiếm) as in QĐ 130 MAXA_CU_TRU.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from vietnam_provinces import ProvinceCode
from vietnam_provinces import Ward as _PackageWard

from core.text import fold


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    kind: str  # "phường" or "xã"

    @property
    def search_key(self) -> str:
        return fold(self.name)


@cache
def hanoi_wards() -> dict[str, Ward]:
    wards = {}
    for unit in _PackageWard.iter_by_province(ProvinceCode.P_01):
        code = f"{int(unit.code):05d}"
        wards[code] = Ward(code=code, name=unit.name, kind=unit.division_type.value)
    return dict(sorted(wards.items()))


def ward_by_code(code: str) -> Ward | None:
    return hanoi_wards().get(code)


def search_wards(query: str, limit: int = 10) -> list[Ward]:
    """Diacritics-insensitive search by name: `hoan kiem` finds Phường Hoàn Kiếm."""
    key = fold(query)
    if not key:
        return []
    hits = [w for w in hanoi_wards().values() if key in w.search_key]
    # Names that start with the query (after the unit word) come first.
    hits.sort(key=lambda w: (not fold(w.name.split(" ", 1)[-1]).startswith(key), w.name))
    return hits[:limit]
