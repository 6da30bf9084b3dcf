"""Completeness for people: the per-field table and the list a ward team works from."""

from __future__ import annotations

from pathlib import Path

from core.db import Database
from core.i18n import N_, Translator
from core.privacy import mask_personal_id, mask_phone
from core.records.completeness import RULES, Gap, WardCompleteness, counted, scan
from core.records.imports.csvfile import write_csv
from core.reference.wards import ward_by_code


def _ward_name(code: str | None, t: Translator) -> str:
    if code is None:
        return t.gettext(N_("No ward recorded"))
    ward = ward_by_code(code)
    return f"{ward.name} ({code})" if ward else code


def _total(report: dict[str | None, WardCompleteness]) -> WardCompleteness:
    total = WardCompleteness(None)
    for ward in report.values():
        total.residents += ward.residents
        total.complete += ward.complete
        for name in total.missing:
            total.missing[name] += ward.missing[name]
            total.invalid[name] += ward.invalid[name]
    return total


def render_completeness(report: dict[str | None, WardCompleteness], ward_code: str | None,
                        t: Translator) -> list[str]:
    total = _total(report)
    title = _ward_name(ward_code, t) if ward_code else t.gettext(N_("All of Hanoi"))
    lines = [t.text(N_("{place}: {residents} residents, {complete} complete ({share})"),
                    place=title, residents=t.number(total.residents),
                    complete=t.number(total.complete),
                    share=f"{t.number(round(total.complete_share * 100, 1))}%")]
    width = max(len(t.gettext(rule.label)) for rule in RULES)
    detail, missing, invalid = (t.gettext(N_("Detail")), t.gettext(N_("Missing")),
                                t.gettext(N_("Invalid")))
    lines.append(f"  {detail:<{width}}  {missing:>8}  {invalid:>8}")
    for rule in RULES:
        label = t.gettext(rule.label)
        if not rule.counts:
            label += " *"
        lines.append(f"  {label:<{width}}  {t.number(total.missing[rule.field]):>8}  "
                     f"{t.number(total.invalid[rule.field]):>8}")
    lines.append("  " + t.gettext(N_("* optional: offered to residents, not counted as a gap")))
    if ward_code is None and len(report) > 1:
        lines.append("")
        lines.append(t.gettext(N_("By ward, least complete first:")))
        for ward in sorted(report.values(), key=lambda w: (w.complete_share, w.ward_code or "")):
            lines.append(t.text(N_("  {ward}: {complete}/{residents} complete"),
                                ward=_ward_name(ward.ward_code, t), complete=ward.complete,
                                residents=ward.residents))
    return lines


GAP_LIST_COLUMNS = ("ma_xa", "ten_xa", "so_dinh_danh", "ho_ten", "nam_sinh", "dia_chi",
                    "dien_thoai", "thieu", "sai")


async def write_gap_list(db: Database, ward_code: str | None, path: Path, t: Translator) -> int:
    """Residents with gaps, for a ward team to contact; IDs and phones masked."""
    rows: list[list[object]] = []
    async for row, found in scan(db, ward_code):
        gaps = counted(found)
        if not gaps:
            continue
        labels = {rule.field: t.gettext(rule.label) for rule in RULES}
        rows.append([
            row.ward_code or "", _ward_name(row.ward_code, t) if row.ward_code else "",
            mask_personal_id(row.personal_id), row.full_name, row.birth_date.year,
            row.street_address or "", mask_phone(row.phone) if row.phone else "",
            "; ".join(labels[g.field] for g in gaps if g.gap is Gap.MISSING),
            "; ".join(labels[g.field] for g in gaps if g.gap is Gap.INVALID),
        ])
    return write_csv(path, GAP_LIST_COLUMNS, iter(rows))
