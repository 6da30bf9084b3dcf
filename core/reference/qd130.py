"""The code lists a QĐ 130/QĐ-BYT checkout file refers to, with the labels the book shows.

QĐ 130/QĐ-BYT (18/01/2023) as amended by QĐ 4750/QĐ-BYT (29/12/2023) names each list
beside its element; the labels below are the lists' own words (Vietnamese in the
catalogue). A code outside a list is never shown raw: the book says what kind of value
it is ("Mã loại khám chữa bệnh 11") only when no label exists. Lists marked "believed"
are from the Ministry's and Social Insurance's published tables as reported, not checked
against the gazette here: correct them in this one place.
"""

from __future__ import annotations

from core.i18n import N_

# --- XML1 MA_LOAI_KCB: the kind of care (Phụ lục, QĐ 4750) ---------------------------
# Sure for the ten codes (DOMAIN.md); English msgids, the official wording in vi.
CARE_KIND_LABELS: dict[str, str] = {
    "01": N_("Medical examination"),
    "02": N_("Outpatient treatment"),
    "03": N_("Inpatient treatment"),
    "04": N_("Day inpatient treatment"),
    "05": N_("Long-term outpatient treatment of a chronic illness, with examination and "
             "medicine"),
    "06": N_("Treatment staying at a ward health station or an area polyclinic"),
    "07": N_("Medicine collected by appointment, without examination"),
    "08": N_("Long-term outpatient treatment of a chronic illness, with services and/or "
             "medicine"),
    "09": N_("Inpatient treatment under 4 hours"),
    "10": N_("Other cases"),
}

# What NGAY_VAO and NGAY_RA mean depends on the kind (QĐ 130, XML1 NGAY_VAO/NGAY_RA):
# an admission and a discharge for inpatient care; for outpatient treatment and refills
# NGAY_RA is the last day the medicine covers (it may lie in the future).
ADMITTED_KINDS = frozenset({"03", "04", "09"})
STAY_KINDS = frozenset({"06"})  # treatment staying at a station: began / ended
MEDICINE_UNTIL_KINDS = frozenset({"02", "05", "07", "08"})
COLLECTED_KINDS = frozenset({"07"})  # no examination: the day the medicine was collected

# --- XML1 KET_QUA_DTRI: the result of treatment (sure) -------------------------------
TREATMENT_RESULT_LABELS: dict[str, str] = {
    "1": N_("Cured"),
    "2": N_("Improved"),
    "3": N_("Unchanged"),
    "4": N_("Worse"),
    "5": N_("Died"),
    "6": N_("Serious prognosis, went home"),
    "7": N_("Not determined"),
}

# --- XML1 MA_TAI_NAN: injury or accident (believed; 0 = none, not shown) ---------------
ACCIDENT_LABELS: dict[str, str] = {
    "1": N_("Traffic accident"),
    "2": N_("Accident at work"),
    "3": N_("Accident in water"),
    "4": N_("Burn"),
    "5": N_("Violence or assault"),
    "6": N_("Self-harm"),
    "7": N_("Poisoning"),
    "8": N_("Other injury"),
}
NO_ACCIDENT = "0"

# --- XML1 MA_KHUVUC: where the card holder lives, for the card's benefit (believed) ----
AREA_LABELS: dict[str, str] = {
    "K1": N_("Lives in an area with difficult socio-economic conditions"),
    "K2": N_("Lives in an area with especially difficult socio-economic conditions"),
    "K3": N_("Lives on an island commune or district"),
}

# --- XML2 DUONG_DUNG: the route, by the Ministry's code list of routes (believed) ------
# The code's first number is the family of routes; a code missing here is named by its
# family, and a clinic that writes the route's name instead of its code is shown as sent.
ROUTE_LABELS: dict[str, str] = {
    "1.01": N_("By mouth"),
    "1.02": N_("Held in the mouth"),
    "1.03": N_("Chewed"),
    "1.04": N_("Under the tongue"),
    "2.01": N_("Injection into a muscle"),
    "2.02": N_("Injection under the skin"),
    "2.03": N_("Injection into the skin"),
    "2.04": N_("Injection into a vein"),
    "2.05": N_("Infusion into a vein"),
    "3.01": N_("Applied to the skin"),
    "3.02": N_("Rubbed on the skin"),
    "3.03": N_("Patch on the skin"),
    "3.05": N_("For external use"),
    "4.01": N_("Vaginal"),
    "4.02": N_("Rectal"),
    "5.01": N_("Nebulised"),
    "5.02": N_("Inhaled"),
    "5.04": N_("Spray"),
    "5.05": N_("Aerosol"),
    "6.01": N_("Eye drops"),
    "6.02": N_("Eye ointment"),
    "6.04": N_("Ear drops"),
    "6.05": N_("Nose drops"),
}
ROUTE_FAMILY_LABELS: dict[str, str] = {
    "1": N_("By mouth"),
    "2": N_("By injection"),
    "3": N_("For external use"),
    "4": N_("Inserted (vaginal or rectal)"),
    "5": N_("Through the airways"),
    "6": N_("Drops or ointment (eye, ear, nose)"),
}

# --- XML3 MA_NHOM: the group a service or supply is paid under (believed) ---------------
SERVICE_GROUP_LABELS: dict[str, str] = {
    "1": N_("Laboratory test"),
    "2": N_("Imaging"),
    "3": N_("Function test"),
    "7": N_("Blood"),
    "8": N_("Surgery"),
    "10": N_("Medical supplies"),
    "11": N_("Medical supplies"),
    "12": N_("Patient transport"),
    "13": N_("Examination"),
    "14": N_("Day bed"),
    "15": N_("Inpatient bed"),
    "16": N_("Observation bed"),
    "17": N_("Blood product"),
    "18": N_("Procedure"),
}


class Paraclinical:
    """The headings XML4's results stand under: it is not only laboratory tests."""

    LABORATORY = "laboratory"
    IMAGING = "imaging"
    FUNCTION = "function"
    OTHER = "other"


# XML4 results are headed by the group of their service in XML3 (MA_NHOM 1, 2, 3, matched
# on MA_DICH_VU); without one, by the chapter of the service code in the Ministry's list of
# technical services (TT 43/2013, TT 21/2017: 18 radiology, 19 nuclear medicine, 20
# endoscopy, 21 function tests, 22 haematology, 23 biochemistry, 24 microbiology,
# 25 pathology). Our reading.
PARACLINICAL_BY_GROUP = {"1": Paraclinical.LABORATORY, "2": Paraclinical.IMAGING,
                         "3": Paraclinical.FUNCTION}
PARACLINICAL_BY_CHAPTER = {
    "18": Paraclinical.IMAGING, "19": Paraclinical.IMAGING, "20": Paraclinical.IMAGING,
    "21": Paraclinical.FUNCTION,
    "22": Paraclinical.LABORATORY, "23": Paraclinical.LABORATORY,
    "24": Paraclinical.LABORATORY, "25": Paraclinical.LABORATORY,
}


def paraclinical_kind(service_code: str | None, group_of_service: dict[str, str]) -> str:
    """Which heading an XML4 result stands under (see above)."""
    if service_code:
        by_group = PARACLINICAL_BY_GROUP.get(group_of_service.get(service_code, ""))
        if by_group:
            return by_group
        chapter = service_code.split(".")[0].zfill(2)
        if chapter in PARACLINICAL_BY_CHAPTER:
            return PARACLINICAL_BY_CHAPTER[chapter]
    return Paraclinical.OTHER


# --- The card (MA_THE_BHYT): beneficiary group and benefit level ---------------------
# Characters 1-2: the beneficiary group (QĐ 1351/QĐ-BHXH list, believed; the common ones).
BENEFICIARY_GROUP_LABELS: dict[str, str] = {
    "DN": N_("Employee of an enterprise"),
    "HX": N_("Employee of a cooperative"),
    "CH": N_("Employee of a state agency"),
    "NN": N_("Employee of a foreign organisation"),
    "TK": N_("Employee of another organisation"),
    "HC": N_("Civil servant or public employee"),
    "XK": N_("Part-time commune official"),
    "HT": N_("Receiving a retirement pension"),
    "TB": N_("Receiving a monthly work-injury or occupational-disease allowance"),
    "NO": N_("On sick leave with allowance"),
    "CT": N_("Aged 80 or over, receiving a monthly survivor's allowance"),
    "XB": N_("Retired commune official with a monthly allowance"),
    "TN": N_("Receiving unemployment benefit"),
    "CC": N_("Person with meritorious services to the revolution"),
    "CK": N_("Relative of a person with meritorious services"),
    "CB": N_("Veteran"),
    "KC": N_("Took part in the resistance"),
    "BT": N_("Receiving a monthly social-protection allowance"),
    "HN": N_("Member of a poor household"),
    "DT": N_("Ethnic minority person in a difficult area"),
    "DK": N_("Living in an especially difficult area"),
    "TE": N_("Child under 6"),
    "CN": N_("Member of a near-poor household"),
    "HS": N_("Pupil"),
    "SV": N_("Student"),
    "GB": N_("Farming, forestry or fishing household with average living standard"),
    "GD": N_("Insured with their household"),
    "QN": N_("Serving in the army"),
    "CA": N_("Serving in the police"),
    "CY": N_("Serving in the cipher service"),
}

# Character 3: the benefit level, as the share of covered costs the fund pays (DOMAIN.md,
# Luật BHYT art. 22): 1 and 2 pay all, 3 pays 95%, 4 pays 80%, 5 pays all.
BENEFIT_PERCENT: dict[int, int] = {1: 100, 2: 100, 3: 95, 4: 80, 5: 100}


__all__ = [
    "ACCIDENT_LABELS",
    "ADMITTED_KINDS",
    "AREA_LABELS",
    "BENEFICIARY_GROUP_LABELS",
    "BENEFIT_PERCENT",
    "CARE_KIND_LABELS",
    "COLLECTED_KINDS",
    "MEDICINE_UNTIL_KINDS",
    "NO_ACCIDENT",
    "ROUTE_FAMILY_LABELS",
    "ROUTE_LABELS",
    "SERVICE_GROUP_LABELS",
    "STAY_KINDS",
    "TREATMENT_RESULT_LABELS",
    "Paraclinical",
    "paraclinical_kind",
]
