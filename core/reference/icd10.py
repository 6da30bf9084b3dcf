"""A small part of ICD-10 (WHO edition, Vietnamese names): the diagnoses the
synthetic city uses, and which of them are chronic conditions.

When a clinic's visit carries a chronic-condition code, the record adds that
condition to the person's history (QĐ 831 part 2) with the clinic's provenance.
"""

from __future__ import annotations

# code -> Vietnamese name (Bộ Y tế ICD-10 list; names shortened where long).
NAMES: dict[str, str] = {
    "A09": "Tiêu chảy và viêm dạ dày - ruột do nhiễm trùng",
    "A90": "Sốt Dengue",
    "E11.9": "Bệnh đái tháo đường không phụ thuộc insulin, không có biến chứng",
    "E78.5": "Tăng lipid máu, không đặc hiệu",
    "H10.9": "Viêm kết mạc, không đặc hiệu",
    "I10": "Bệnh lý tăng huyết áp vô căn (nguyên phát)",
    "I25.9": "Bệnh tim thiếu máu cục bộ mạn tính, không đặc hiệu",
    "J02.9": "Viêm họng cấp, không đặc hiệu",
    "J06.9": "Nhiễm trùng đường hô hấp trên cấp, không đặc hiệu",
    "J20.9": "Viêm phế quản cấp, không đặc hiệu",
    "J44.9": "Bệnh phổi tắc nghẽn mạn tính, không đặc hiệu",
    "J45.9": "Hen, không đặc hiệu",
    "K02.9": "Sâu răng, không đặc hiệu",
    "K21.9": "Bệnh trào ngược dạ dày - thực quản không có viêm thực quản",
    "K29.7": "Viêm dạ dày, không đặc hiệu",
    "L30.9": "Viêm da, không đặc hiệu",
    "M17.9": "Thoái hóa khớp gối, không đặc hiệu",
    "M54.5": "Đau vùng thắt lưng",
    "N18.9": "Bệnh thận mạn, không đặc hiệu",
    "N39.0": "Nhiễm trùng đường tiết niệu, vị trí không xác định",
    "Z00.0": "Khám sức khỏe tổng quát",
}

# Codes (or their three-character categories) that are long-term conditions.
CHRONIC_CATEGORIES: frozenset[str] = frozenset(
    {"E10", "E11", "E78", "I10", "I11", "I20", "I25", "I50", "J44", "J45", "M17", "N18"}
)


def name_of(code: str) -> str | None:
    return NAMES.get(code) or NAMES.get(code.split(".")[0])


def is_chronic(code: str) -> bool:
    return code[:3].upper() in CHRONIC_CATEGORIES
