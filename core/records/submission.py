"""A clinic's visit submission as the record takes it in (one QĐ 130 HOSO).

The QĐ 130/QĐ-BYT parser produces these, the synthetic-Hanoi seed generates
them, and `core.records.imports.qd130` writes them to the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.values import BloodGroup, PartialDate, Sex


@dataclass
class PrescriptionLine:
    """XML2 CHI_TIET_THUOC."""

    drug: str  # TEN_THUOC
    strength: str | None = None  # HAM_LUONG
    route: str | None = None  # DUONG_DUNG
    dose: str | None = None  # LIEU_DUNG
    instructions: str | None = None  # CACH_DUNG
    quantity: float | None = None  # SO_LUONG
    unit: str | None = None  # DON_VI_TINH
    ordered_at: dt.datetime | None = None  # NGAY_YL


@dataclass
class TestLine:
    """XML4 CHI_TIET_CLS."""

    __test__ = False  # not a pytest class

    name: str  # TEN_CHI_SO
    service_code: str | None = None  # MA_DICH_VU
    indicator_code: str | None = None  # MA_CHI_SO
    value: str | None = None  # GIA_TRI
    unit: str | None = None  # DON_VI_DO
    description: str | None = None  # MO_TA
    conclusion: str | None = None  # KET_LUAN
    resulted_at: dt.datetime | None = None  # NGAY_KQ


@dataclass
class ServiceLine:
    """XML3 CHI_TIET_DVKT: a technical service or a supply."""

    name: str  # TEN_DICH_VU, else TEN_VAT_TU
    service_code: str | None = None  # MA_DICH_VU
    group_code: str | None = None  # MA_NHOM
    quantity: float | None = None  # SO_LUONG
    unit: str | None = None  # DON_VI_TINH
    performed_at: dt.datetime | None = None  # NGAY_TH_YL, else NGAY_YL


@dataclass
class VisitSubmission:
    """XML1 TONG_HOP with its drug and test lines (MA_LK ties them together)."""

    facility_code: str  # MA_CSKCB
    visit_key: str  # MA_LK
    admitted_at: dt.datetime  # NGAY_VAO (aware, Asia/Ho_Chi_Minh when sent)
    personal_id: str | None = None  # SO_CCCD
    card_number: str | None = None  # MA_THE_BHYT (first card when several)
    patient_code: str | None = None  # MA_BN
    full_name: str | None = None  # HO_TEN
    birth_date: PartialDate | None = None  # NGAY_SINH
    sex: Sex | None = None  # GIOI_TINH
    blood_group: BloodGroup | None = None  # NHOM_MAU
    ethnicity_code: str | None = None  # MA_DANTOC
    phone: str | None = None  # DIEN_THOAI
    address: str | None = None  # DIA_CHI
    ward_code: str | None = None  # MAXA_CU_TRU
    kind_code: str | None = None  # MA_LOAI_KCB
    discharged_at: dt.datetime | None = None  # NGAY_RA
    reason: str | None = None  # LY_DO_VV
    admission_diagnosis: str | None = None  # CHAN_DOAN_VAO
    diagnosis: str | None = None  # CHAN_DOAN_RV
    primary_icd10: str | None = None  # MA_BENH_CHINH
    secondary_icd10: list[str] = field(default_factory=list)  # MA_BENH_KT, `;`-separated
    treatment_method: str | None = None  # PP_DIEU_TRI
    treatment_result: str | None = None  # KET_QUA_DTRI
    follow_ups: list[dt.date] = field(default_factory=list)  # NGAY_TAI_KHAM, `;`-separated
    note: str | None = None  # GHI_CHU
    weight_kg: float | None = None  # CAN_NANG
    accident_code: str | None = None  # MA_TAI_NAN
    referred_from: str | None = None  # MA_NOI_DI
    referred_to: str | None = None  # MA_NOI_DEN
    card_five_years_from: dt.date | None = None  # NAM_NAM_LIEN_TUC
    card_copay_exempt_from: dt.date | None = None  # NGAY_MIEN_CCT
    card_area_code: str | None = None  # MA_KHUVUC
    prescriptions: list[PrescriptionLine] = field(default_factory=list)
    services: list[ServiceLine] = field(default_factory=list)
    tests: list[TestLine] = field(default_factory=list)
