"""Vaccines: what each protects against, and the national EPI schedule.

The immunization registry names a vaccine as the vaccinator wrote it (a brand,
an abbreviation, a Vietnamese name); the record also keeps the diseases it
protects against, in Vietnamese as the registry and the health book write them
(data, like place names, not interface text).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import cache

from core.i18n import N_
from core.text import fold

TB = "Lao"
HEP_B = "Viêm gan B"
POLIO = "Bại liệt"
MEASLES = "Sởi"
MEASLES_RUBELLA = "Sởi, Rubella"
MMR = "Sởi, Quai bị, Rubella"
JE = "Viêm não Nhật Bản"
DTP = "Bạch hầu, Ho gà, Uốn ván"
PENTAVALENT = "Bạch hầu, Ho gà, Uốn ván, Viêm gan B, Hib"
PENTAVALENT_IPV = "Bạch hầu, Ho gà, Uốn ván, Bại liệt, Hib"
HEXAVALENT = "Bạch hầu, Ho gà, Uốn ván, Bại liệt, Viêm gan B, Hib"
TETANUS = "Uốn ván"
TETANUS_DIPHTHERIA = "Uốn ván, Bạch hầu"
COVID19 = "COVID-19"
INFLUENZA = "Cúm"
HPV = "HPV"
ROTAVIRUS = "Rota"
PNEUMOCOCCUS = "Phế cầu"
MENINGOCOCCUS = "Não mô cầu"
VARICELLA = "Thủy đậu"

# Names as registries write them. Matching is by whole words, diacritics and case
# ignored, the longest name first: "DPT-VGB-Hib" is the pentavalent vaccine, not
# "DPT" nor "VGB". "SII" alone is a manufacturer (Serum Institute of India, which
# also makes BCG, measles and MR vaccines), so it names nothing by itself.
_NAMES: dict[str, tuple[str, ...]] = {
    TB: ("BCG",),
    HEP_B: ("Viêm gan B", "VGB", "Engerix-B", "Euvax B", "Heberbiovac", "Gene-HBvax"),
    PENTAVALENT: ("DPT-VGB-Hib", "Quinvaxem", "ComBE Five", "Pentavac", "5 trong 1"),
    PENTAVALENT_IPV: ("Pentaxim", "Infanrix IPV Hib"),
    HEXAVALENT: ("Hexaxim", "Infanrix Hexa", "6 trong 1"),
    POLIO: ("OPV", "bOPV", "IPV", "Bại liệt", "Imovax Polio"),
    MEASLES: ("Sởi", "MVVAC"),
    MEASLES_RUBELLA: ("MR", "Sởi-Rubella", "Sởi Rubella"),
    MMR: ("MMR", "MMR II", "Priorix", "Sởi-Quai bị-Rubella"),
    JE: ("Viêm não Nhật Bản", "VNNB", "Jevax", "Imojev", "Jeev"),
    DTP: ("DPT", "DTP", "Bạch hầu-Ho gà-Uốn ván"),
    # Tetanus toxoid for pregnant women (VAT) is part (3) of the QĐ 831 record.
    TETANUS: ("Uốn ván", "VAT", "TT"),
    TETANUS_DIPHTHERIA: ("Td", "Uốn ván-Bạch hầu"),
    COVID19: ("COVID-19", "COVID", "Vaxzevria", "AstraZeneca", "Comirnaty", "Pfizer",
              "Spikevax", "Moderna", "Vero Cell", "Sinopharm", "Sputnik", "Janssen", "Abdala",
              "Hayat-Vax"),
    INFLUENZA: ("Cúm", "Vaxigrip Tetra", "Vaxigrip", "Influvac Tetra", "Influvac", "GC Flu",
                "Ivacflu"),
    HPV: ("Gardasil", "Gardasil 9", "HPV"),
    ROTAVIRUS: ("Rotateq", "Rotarix", "Rotavin", "Rota"),
    PNEUMOCOCCUS: ("Synflorix", "Prevenar 13", "Phế cầu"),
    MENINGOCOCCUS: ("Menactra", "VA-Mengoc-BC", "Bexsero", "Não mô cầu"),
    VARICELLA: ("Varivax", "Varilrix", "Thủy đậu"),
}

_WORD_BREAK = re.compile(r"[\s\-/()+,.;:_]+")


def _words(name: str) -> tuple[str, ...]:
    return tuple(w for w in (fold(part) for part in _WORD_BREAK.split(name)) if w)


@cache
def _patterns() -> tuple[tuple[tuple[str, ...], str], ...]:
    patterns = [(_words(alias), antigens) for antigens, aliases in _NAMES.items()
                for alias in aliases]
    patterns.sort(key=lambda p: (-len(p[0]), -len("".join(p[0]))))
    return tuple(patterns)


def _contains(words: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    size = len(pattern)
    return any(words[i:i + size] == pattern for i in range(len(words) - size + 1))


@cache
def antigens_for(vaccine: str) -> str | None:
    """What a vaccine protects against (`Quinvaxem 0,5ml` -> the five), or None if unknown."""
    words = _words(vaccine)
    for pattern, antigens in _patterns():
        if _contains(words, pattern):
            return antigens
    return None


# --- The national EPI schedule ----------------------------------------------------

# Our reading of the Ministry of Health's EPI schedule (Thông tư 38/2017/TT-BYT,
# annex; believed, and possibly amended since): check against the current text.
@dataclass(frozen=True)
class ScheduledDose:
    vaccine: str  # a name `antigens_for` knows
    dose: int
    months: int  # age when the dose is due: months, then days, after birth
    days: int = 0
    note: str = ""  # a catalogue string (N_), translated where shown

    def due_on(self, birth: dt.date) -> dt.date:
        month_index = birth.month - 1 + self.months
        year, month = birth.year + month_index // 12, month_index % 12 + 1
        day = min(birth.day, calendar.monthrange(year, month)[1])
        return dt.date(year, month, day) + dt.timedelta(days=self.days)


EPI_SCHEDULE: tuple[ScheduledDose, ...] = (
    ScheduledDose("Viêm gan B", 1, 0, note=N_("within 24 hours of birth")),
    ScheduledDose("BCG", 1, 0, note=N_("within the first month")),
    ScheduledDose("DPT-VGB-Hib", 1, 2),
    ScheduledDose("bOPV", 1, 2),
    ScheduledDose("DPT-VGB-Hib", 2, 3),
    ScheduledDose("bOPV", 2, 3),
    ScheduledDose("DPT-VGB-Hib", 3, 4),
    ScheduledDose("bOPV", 3, 4),
    ScheduledDose("IPV", 1, 5),
    ScheduledDose("Sởi", 1, 9),
    ScheduledDose("Viêm não Nhật Bản", 1, 12),
    ScheduledDose("Viêm não Nhật Bản", 2, 12, 7, note=N_("1-2 weeks after dose 1")),
    ScheduledDose("Sởi-Rubella", 1, 18),
    ScheduledDose("DPT", 4, 18, note=N_("booster after the three pentavalent doses")),
    ScheduledDose("Viêm não Nhật Bản", 3, 24, note=N_("one year after dose 2")),
)


__all__ = ["EPI_SCHEDULE", "ScheduledDose", "antigens_for"]
