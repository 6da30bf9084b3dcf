"""What a clinic's QĐ 130 file says is what the book says, as the citizen and a clinic read it.

Every file here is written by hand, element by element, as a clinic's software sends it
(not by our writer), then imported through the real import and read back in Vietnamese.
The expected words are the standard's (QĐ 130/QĐ-BYT as amended by QĐ 4750/QĐ-BYT).
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest

from core.consent.access import read_book_as, read_own_book
from core.consent.grants import set_facility_grant
from core.consent.policy import Reader
from core.db import Database
from core.i18n import today_hanoi
from core.records.display_rules import BookGroup
from core.records.healthbook import BookEntry, HealthBook
from core.records.imports.qd130 import import_qd130_file
from core.records.imports.roster import import_roster
from core.records.people import by_personal_id

FACILITY = "01001"
OTHER_FACILITY = "01901"
AN = "001090001234"
AN_CARD = "DN4010123456789"  # DN, benefit level 4: the fund pays 80%
BE = "001224000321"  # a child born in 2024
TODAY = today_hanoi()
NEXT_MONTH = TODAY + dt.timedelta(days=30)
LAST_MONTH = TODAY - dt.timedelta(days=30)


def _day(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _shown(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def _table(root: str, fields: dict[str, str]) -> str:
    return f"<{root}>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + f"</{root}>"


def _lines(root: str, rows: str, line: str, lines: list[dict[str, str]]) -> str:
    return f"<{root}><{rows}>" + "".join(_table(line, f) for f in lines) + f"</{rows}></{root}>"


def _b64(inner: str) -> str:
    text = '<?xml version="1.0" encoding="utf-8"?>' + inner
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _hoso(xml1: dict[str, str], *, xml2: list[dict[str, str]] = (),  # type: ignore[assignment]
          xml3: list[dict[str, str]] = (), xml4: list[dict[str, str]] = ()) -> str:  # type: ignore[assignment]
    tables = [("XML1", _table("TONG_HOP", xml1))]
    if xml2:
        tables.append(("XML2", _lines("CHITIEU_CHITIET_THUOC", "DSACH_CHI_TIET_THUOC",
                                      "CHI_TIET_THUOC", list(xml2))))
    if xml3:
        tables.append(("XML3", _lines("CHITIEU_CHITIET_DVKT_VTYT", "DSACH_CHI_TIET_DVKT",
                                      "CHI_TIET_DVKT", list(xml3))))
    if xml4:
        tables.append(("XML4", _lines("CHITIEU_CHITIET_DICHVUCANLAMSANG", "DSACH_CHI_TIET_CLS",
                                      "CHI_TIET_CLS", list(xml4))))
    return "<HOSO>" + "".join(
        f"<FILEHOSO><LOAIHOSO>{kind}</LOAIHOSO><NOIDUNGFILE>{_b64(inner)}</NOIDUNGFILE></FILEHOSO>"
        for kind, inner in tables) + "</HOSO>"


def _file(path: Path, *hosos: str) -> Path:
    path.write_bytes((
        '<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS><THONGTINDONVI><MACSKCB>'
        f"{FACILITY}</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>{_day(TODAY)}</NGAYLAP>"
        f"<SOLUONGHOSO>{len(hosos)}</SOLUONGHOSO><DANHSACHHOSO>" + "".join(hosos)
        + "</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>").encode("utf-8"))
    return path


def _an(key: str, kind: str, arrived: dt.date, **more: str) -> dict[str, str]:
    """XML1 of a visit of Nguyễn Văn An: who he is, when, and what kind of care."""
    return {"MA_LK": key, "MA_BN": "BN0001", "HO_TEN": "Nguyễn Văn An", "SO_CCCD": AN,
            "NGAY_SINH": "199007150000", "GIOI_TINH": "1", "MA_THE_BHYT": AN_CARD,
            "MA_LOAI_KCB": kind, "NGAY_VAO": f"{_day(arrived)}0830", "MA_CSKCB": FACILITY, **more}


async def _roster(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "so_dinh_danh,ho_ten,ngay_sinh,gioi_tinh,nhom_mau,ma_the_bhyt,gt_the_tu,gt_the_den\n"
        f"{AN},Nguyễn Văn An,15/07/1990,Nam,Rh+,{AN_CARD},01/01/{TODAY.year},"
        f"31/12/{TODAY.year + 1}\n"
        f"{BE},Lê Minh Bé,03/03/2024,Nam,,,,\n",
        encoding="utf-8")
    report = await import_roster(db, path)
    assert report.created == 2, report.problems


async def _import(db: Database, tmp_path: Path, *hosos: str) -> None:
    await _roster(db, tmp_path)
    report = await import_qd130_file(db, _file(tmp_path / "checkout.xml", *hosos))
    assert (report.created, report.quarantined, report.rejected) == (len(hosos), 0, 0), \
        report.problems


async def _books(db: Database, personal_id: str = AN) -> tuple[HealthBook, HealthBook]:
    """The book as the citizen reads it, and as the clinic's reception does once the citizen
    has shared everything with that clinic."""
    citizen = await db.read(by_personal_id, personal_id)
    assert citizen is not None
    own = await read_own_book(db, citizen.id, locale="vi")
    await set_facility_grant(db, citizen.id, FACILITY, frozenset(BookGroup), None, "test")
    clinic = await read_book_as(db, Reader(1, "receptionist", FACILITY, name="Quầy 1"),
                                citizen.id, via="test", locale="vi")
    assert own is not None and clinic.book is not None
    return own, clinic.book


def _visit(book: HealthBook, title_part: str = "") -> BookEntry:
    section = book.section(BookGroup.VISITS)
    assert section is not None
    return next(e for e in section.lists[0].entries if title_part in e.title)


def _rows(entry: BookEntry) -> dict[str, str]:
    return {row.label: row.text for row in entry.rows}


def _both(books: tuple[HealthBook, HealthBook], title_part: str = "") -> list[dict[str, str]]:
    return [_rows(_visit(book, title_part)) for book in books]


# --- 1 and 2: the kind of care, and what its dates mean --------------------------------

OFFICIAL_KINDS = {
    "01": "Khám bệnh",
    "02": "Điều trị ngoại trú",
    "03": "Điều trị nội trú",
    "04": "Điều trị nội trú ban ngày",
    "05": "Điều trị ngoại trú bệnh mạn tính dài ngày, có khám bệnh và lĩnh thuốc",
    "06": "Điều trị lưu tại trạm y tế xã/phường hoặc phòng khám đa khoa khu vực",
    "07": "Nhận thuốc theo hẹn, không khám bệnh",
    "08": "Điều trị ngoại trú bệnh mạn tính dài ngày, có dịch vụ kỹ thuật và/hoặc thuốc",
    "09": "Điều trị nội trú dưới 4 giờ",
    "10": "Các trường hợp khác",
}
# What NGAY_VAO and NGAY_RA are called for each kind (QĐ 130, XML1; QĐ 4750).
DATE_LABELS = {
    "01": ("Thời gian đến khám", "Kết thúc khám"),
    "02": ("Bắt đầu điều trị", "Thuốc dùng đến ngày"),
    "03": ("Vào viện", "Ra viện"),
    "04": ("Vào viện", "Ra viện"),
    "05": ("Bắt đầu điều trị", "Thuốc dùng đến ngày"),
    "06": ("Bắt đầu điều trị", "Kết thúc điều trị"),
    "07": ("Thời gian nhận thuốc", "Thuốc dùng đến ngày"),
    "08": ("Bắt đầu điều trị", "Thuốc dùng đến ngày"),
    "09": ("Vào viện", "Ra viện"),
    "10": ("Thời gian đến khám", "Kết thúc khám"),
}


@pytest.mark.parametrize("kind", sorted(OFFICIAL_KINDS))
async def test_each_kind_of_care_is_named_as_the_standard_names_it_with_its_own_dates(
        db: Database, tmp_path: Path, kind: str) -> None:
    arrived = TODAY - dt.timedelta(days=3)
    ends = f"{_day(arrived)}1000" if kind not in ("02", "05", "07", "08") else f"{_day(NEXT_MONTH)}2359"
    await _import(db, tmp_path, _hoso(_an(f"LK-{kind}", kind, arrived, NGAY_RA=ends)))
    began, ended = DATE_LABELS[kind]
    for rows in _both(await _books(db)):
        assert rows["Loại khám chữa bệnh"] == OFFICIAL_KINDS[kind]
        assert rows[began] == f"08:30 {_shown(arrived)}"
        other_labels = {label for pair in DATE_LABELS.values() for label in pair} - {began, ended}
        assert not other_labels & rows.keys()
        if ended == "Thuốc dùng đến ngày":  # the last day the medicine covers: a day, no time
            assert rows[ended] == _shown(NEXT_MONTH)
        else:
            assert rows[ended] == f"10:00 {_shown(arrived)}"


async def test_a_refill_without_examination_says_so_and_how_long_the_medicine_lasts(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso(
        _an("LK-R", "07", LAST_MONTH, NGAY_RA=f"{_day(NEXT_MONTH)}0000"),
        xml2=[{"MA_LK": "LK-R", "TEN_THUOC": "Metformin", "HAM_LUONG": "500mg",
               "DUONG_DUNG": "1.01", "SO_LUONG": "60", "DON_VI_TINH": "Viên"}]))
    for rows in _both(await _books(db)):
        assert rows["Loại khám chữa bệnh"] == "Nhận thuốc theo hẹn, không khám bệnh"
        assert rows["Thuốc dùng đến ngày"] == _shown(NEXT_MONTH)
        assert "Ra viện" not in rows and "Kết thúc khám" not in rows


async def test_every_re_examination_date_is_kept_and_the_next_one_comes_first(
        db: Database, tmp_path: Path) -> None:
    later = NEXT_MONTH + dt.timedelta(days=60)
    dates = f"{_day(later)};{_day(LAST_MONTH)};{_day(NEXT_MONTH)}"
    await _import(db, tmp_path, _hoso(_an("LK-T", "01", LAST_MONTH - dt.timedelta(days=5),
                                          NGAY_TAI_KHAM=dates)))
    for rows in _both(await _books(db)):
        assert rows["Hẹn tái khám"] == (
            f"{_shown(NEXT_MONTH)}; {_shown(later)}; {_shown(LAST_MONTH)} (đã qua)")


# --- 3: diagnoses ------------------------------------------------------------------------

async def test_the_admission_diagnosis_is_labelled_as_such_and_never_stands_for_the_diagnosis(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path,
                  _hoso(_an("LK-D", "03", LAST_MONTH, CHAN_DOAN_VAO="Đau ngực chưa rõ nguyên nhân",
                            CHAN_DOAN_RV="Tăng huyết áp", MA_BENH_CHINH="I10",
                            MA_BENH_KT="E11.9;E78.5")),
                  _hoso(_an("LK-E", "01", LAST_MONTH - dt.timedelta(days=9),
                            CHAN_DOAN_VAO="Sốt")))
    for book in await _books(db):
        rows = _rows(_visit(book, _shown(LAST_MONTH)))
        assert rows["Chẩn đoán vào viện"] == "Đau ngực chưa rõ nguyên nhân"
        assert rows["Chẩn đoán"] == "Tăng huyết áp"
        assert rows["Bệnh chính"] == "Bệnh lý tăng huyết áp vô căn (nguyên phát) (I10)"
        assert rows["Bệnh kèm theo"] == (
            "Bệnh đái tháo đường không phụ thuộc insulin, không có biến chứng (E11.9); "
            "Tăng lipid máu, không đặc hiệu (E78.5)")
        only_admission = _rows(_visit(book, _shown(LAST_MONTH - dt.timedelta(days=9))))
        assert only_admission["Chẩn đoán vào viện"] == "Sốt"
        assert "Chẩn đoán" not in only_admission


# --- 4 and 5: medicines, services and paraclinical results -------------------------------

async def test_medicines_are_what_was_used_or_dispensed_with_the_route_by_its_name(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso(
        _an("LK-M", "01", LAST_MONTH),
        xml2=[{"MA_LK": "LK-M", "TEN_THUOC": "Amlodipin", "HAM_LUONG": "5mg", "DUONG_DUNG": "1.01",
               "LIEU_DUNG": "1 viên/ngày", "SO_LUONG": "30", "DON_VI_TINH": "Viên"},
              {"MA_LK": "LK-M", "TEN_THUOC": "Ceftriaxon", "HAM_LUONG": "1g", "DUONG_DUNG": "2.04",
               "SO_LUONG": "2", "DON_VI_TINH": "Lọ"},
              {"MA_LK": "LK-M", "TEN_THUOC": "Kem bôi", "DUONG_DUNG": "3.99"}]))
    for book in await _books(db):
        medicines = _visit(book).lists[0]
        assert medicines.label == "Thuốc đã dùng/đã cấp"
        assert [e.title for e in medicines.entries] == ["Amlodipin 5mg", "Ceftriaxon 1g", "Kem bôi"]
        routes = [_rows(e)["Đường dùng"] for e in medicines.entries]
        assert routes == ["Uống", "Tiêm tĩnh mạch", "Dùng ngoài"]  # 3.99: its family's name
        assert _rows(medicines.entries[0])["Số lượng"] == "30 Viên"
        # The title carries the medicine's name: no line below repeats it.
        assert "Thuốc" not in _rows(medicines.entries[0])


async def test_services_and_results_stand_under_their_own_headings_with_units(
        db: Database, tmp_path: Path) -> None:
    xray = "18.0068.0028"
    await _import(db, tmp_path, _hoso(
        _an("LK-C", "01", LAST_MONTH),
        xml3=[{"MA_LK": "LK-C", "MA_DICH_VU": xray, "MA_NHOM": "2",
               "TEN_DICH_VU": "Chụp X-quang ngực thẳng", "SO_LUONG": "1", "DON_VI_TINH": "Lần",
               "NGAY_TH_YL": f"{_day(LAST_MONTH)}0910"}],
        xml4=[{"MA_LK": "LK-C", "MA_DICH_VU": "23.0075.1494", "MA_CHI_SO": "GLU",
               "TEN_CHI_SO": "Glucose", "GIA_TRI": "6,1", "DON_VI_DO": "mmol/L",
               "MO_TA": "Giá trị tham chiếu 3,9 - 6,4", "NGAY_KQ": f"{_day(LAST_MONTH)}0950"},
              {"MA_LK": "LK-C", "MA_DICH_VU": xray, "TEN_CHI_SO": "X-quang ngực thẳng",
               "MO_TA": "Bóng tim không to", "KET_LUAN": "Chưa thấy bất thường"},
              {"MA_LK": "LK-C", "MA_DICH_VU": "21.0014.1778", "TEN_CHI_SO": "Điện tim",
               "KET_LUAN": "Nhịp xoang đều"}]))
    for book in await _books(db):
        visit = _visit(book)
        lists = {lst.label: lst for lst in visit.lists}
        assert list(lists) == ["Dịch vụ kỹ thuật, vật tư y tế", "Xét nghiệm",
                               "Chẩn đoán hình ảnh", "Thăm dò chức năng"]
        service = _rows(lists["Dịch vụ kỹ thuật, vật tư y tế"].entries[0])
        assert service["Nhóm"] == "Chẩn đoán hình ảnh"
        assert service["Thời gian thực hiện"] == f"09:10 {_shown(LAST_MONTH)}"
        glucose = _rows(lists["Xét nghiệm"].entries[0])
        assert glucose["Kết quả"] == "6,1 mmol/L"
        assert glucose["Mô tả"] == "Giá trị tham chiếu 3,9 - 6,4"  # the range, as written
        assert _rows(lists["Chẩn đoán hình ảnh"].entries[0])["Kết luận"] == "Chưa thấy bất thường"
        assert lists["Thăm dò chức năng"].entries[0].title == "Điện tim"


# --- 6: the insurance card ---------------------------------------------------------------

async def test_the_card_shows_its_percentage_group_and_what_the_clinic_file_says_of_it(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso(_an(
        "LK-I", "01", LAST_MONTH, NAM_NAM_LIEN_TUC="20230101", NGAY_MIEN_CCT=_day(LAST_MONTH),
        MA_KHUVUC="K2")))
    for book in await _books(db):
        section = book.section(BookGroup.INSURANCE)
        assert section is not None
        rows = {row.label: row.text for row in section.rows}
        assert rows["Mã thẻ BHYT"] == AN_CARD
        assert rows["Mức hưởng"] == "80%"
        assert rows["Đối tượng tham gia"] == "Người lao động trong doanh nghiệp"
        assert rows["Đủ 5 năm liên tục từ ngày"] == "01/01/2023"
        assert rows["Miễn cùng chi trả từ ngày"] == _shown(LAST_MONTH)
        assert rows["Nơi sinh sống"] == "Sống ở vùng có điều kiện kinh tế - xã hội đặc biệt khó khăn"
        assert "(đã hết hạn)" not in rows["Giá trị đến ngày"]


async def test_an_expired_card_is_marked_and_a_valid_one_comes_first(
        db: Database, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "so_dinh_danh,ho_ten,ngay_sinh,ma_the_bhyt,gt_the_tu,gt_the_den\n"
        f"{AN},Nguyễn Văn An,15/07/1990,{AN_CARD},01/01/2020,31/12/2020\n", encoding="utf-8")
    await import_roster(db, path)
    citizen = await db.read(by_personal_id, AN)
    assert citizen is not None
    book = await read_own_book(db, citizen.id, locale="vi", only=[BookGroup.INSURANCE])
    assert book is not None
    rows = {row.label: row.text for row in book.sections[0].rows}
    assert rows["Giá trị đến ngày"] == "31/12/2020 (đã hết hạn)"


# --- 7: what else XML1 carries -----------------------------------------------------------

async def test_note_treatment_injury_referral_and_result_are_shown_by_their_labels(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso(_an(
        "LK-X", "03", LAST_MONTH, GHI_CHU="Hạn chế muối", PP_DIEU_TRI="Điều trị nội khoa",
        MA_TAI_NAN="1", MA_NOI_DI=OTHER_FACILITY, MA_NOI_DEN=OTHER_FACILITY, KET_QUA_DTRI="1",
        NGAY_RA=f"{_day(LAST_MONTH)}1700")))
    for rows in _both(await _books(db)):
        assert rows["Ghi chú"] == "Hạn chế muối"
        assert rows["Phương pháp điều trị"] == "Điều trị nội khoa"
        assert rows["Tai nạn thương tích"] == "Tai nạn giao thông"
        assert rows["Chuyển đến từ"] == OTHER_FACILITY  # no name on record for it
        assert rows["Chuyển tuyến đến"] == OTHER_FACILITY
        assert rows["Kết quả điều trị"] == "Khỏi"


async def test_a_childs_weight_is_shown_in_kilograms(db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso({
        "MA_LK": "LK-B", "HO_TEN": "Lê Minh Bé", "SO_CCCD": BE, "NGAY_SINH": "202403030000",
        "MA_LOAI_KCB": "01", "NGAY_VAO": f"{_day(LAST_MONTH)}0800", "CAN_NANG": "9,5",
        "MA_CSKCB": FACILITY}))
    for rows in _both(await _books(db, BE)):
        assert rows["Cân nặng"] == "9,5 kg"


# --- 8: health history (QĐ 831) ------------------------------------------------------------

async def test_an_illness_from_a_clinic_reads_as_under_treatment_or_history_never_cured(
        db: Database, tmp_path: Path) -> None:
    await _import(db, tmp_path, _hoso(_an("LK-H", "01", LAST_MONTH, MA_BENH_CHINH="I10",
                                          CHAN_DOAN_RV="Tăng huyết áp")))
    for book in await _books(db):
        history = book.section(BookGroup.HISTORY)
        assert history is not None
        illnesses = next(lst for lst in history.lists if lst.key == "history.conditions")
        statuses = {_rows(e)["Tình trạng"] for e in illnesses.entries}
        assert statuses == {"Đang điều trị"}
        assert not any("Đã khỏi" in row.text for row in book.rows())
        # The register knew only the Rh factor: that is what the book shows.
        assert {row.label: row.text for row in history.rows}["Nhóm máu"] == "Rh+"
