"""Word lists for a synthetic Hanoi: names, streets, occupations.

Frequencies are approximate shares of family names in Việt Nam (Nguyễn about
38%); everything here is invented data for development and demonstration.
"""

from __future__ import annotations

FAMILY_NAMES: tuple[tuple[str, float], ...] = (
    ("Nguyễn", 38.0), ("Trần", 11.0), ("Lê", 9.5), ("Phạm", 7.1), ("Hoàng", 5.1),
    ("Phan", 4.5), ("Vũ", 3.9), ("Đặng", 2.1), ("Bùi", 2.0), ("Đỗ", 1.4), ("Hồ", 1.3),
    ("Ngô", 1.3), ("Dương", 1.0), ("Đinh", 1.0), ("Đào", 1.0), ("Trịnh", 0.8), ("Lý", 0.5),
    ("Mai", 0.5), ("Lương", 0.5), ("Cao", 0.5), ("Tạ", 0.3), ("Chu", 0.3), ("Kiều", 0.2),
    ("Nghiêm", 0.1), ("Quách", 0.1), ("Lại", 0.1), ("Khúc", 0.1), ("Doãn", 0.1),
)

MIDDLE_MALE = ("Văn", "Đức", "Minh", "Quang", "Hữu", "Xuân", "Thành", "Tiến", "Mạnh", "Ngọc",
               "Công", "Trung", "Anh", "Hoàng", "Gia", "Bảo", "Đình", "Duy")
MIDDLE_FEMALE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Minh", "Phương", "Mai",
                 "Khánh", "Bảo", "Hoài", "Diệu", "Thùy", "Kim", "Hải")
GIVEN_MALE = ("An", "Anh", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Đức", "Giang", "Hải", "Hiếu",
              "Hoàng", "Hùng", "Huy", "Khánh", "Khoa", "Kiên", "Long", "Lâm", "Minh", "Nam",
              "Nghĩa", "Phong", "Phúc", "Quân", "Quang", "Sơn", "Tài", "Thắng", "Thành", "Tiến",
              "Toàn", "Trung", "Tuấn", "Tùng", "Việt", "Vinh", "Vũ", "Hưng", "Lộc")
GIVEN_FEMALE = ("An", "Anh", "Châu", "Chi", "Dung", "Duyên", "Giang", "Hà", "Hạnh", "Hằng",
                "Hiền", "Hoa", "Hồng", "Huệ", "Hương", "Huyền", "Lan", "Liên", "Linh", "Loan",
                "Mai", "My", "Nga", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Tâm",
                "Thảo", "Thơ", "Thủy", "Trang", "Trâm", "Uyên", "Vân", "Yến", "Lụa", "Sen")

RURAL_PLACES = ("Thôn Đông", "Thôn Đoài", "Thôn Thượng", "Thôn Hạ", "Xóm Chùa", "Xóm Mới",
                "Thôn Bắc", "Thôn Nam", "Xóm Giữa", "Thôn Trung", "Xóm Đình", "Thôn An Lạc")

OCCUPATIONS_URBAN = ("Nhân viên văn phòng", "Công nhân", "Giáo viên", "Kinh doanh tự do",
                     "Kỹ sư", "Công chức", "Lái xe", "Buôn bán nhỏ", "Điều dưỡng", "Bác sĩ",
                     "Nội trợ", "Kế toán", "Thợ điện", "Nhân viên bán hàng")
OCCUPATIONS_RURAL = ("Nông dân", "Nông dân", "Công nhân", "Buôn bán nhỏ", "Thợ xây", "Nội trợ",
                     "Giáo viên", "Lái xe", "Thợ may", "Chăn nuôi")

# Approximate shares in Hanoi: Kinh the very large majority.
ETHNICITY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("01", 97.0), ("06", 1.2), ("02", 0.4), ("03", 0.3), ("09", 0.3), ("07", 0.2),
    ("04", 0.2), ("08", 0.1), ("05", 0.05), ("17", 0.05),
)

# ABO shares in Việt Nam (about O 42%, B 31%, A 21%, AB 6%); Rh− is rare (~0.1%).
BLOOD_WEIGHTS: tuple[tuple[str, float], ...] = (("O", 42.0), ("B", 31.0), ("A", 21.0), ("AB", 6.0))

# Mobile prefixes by network (Viettel, Vinaphone, MobiFone, Vietnamobile).
MOBILE_PREFIXES = ("086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038",
                   "039", "088", "091", "094", "081", "082", "083", "084", "085", "089", "090",
                   "093", "070", "076", "077", "078", "079", "092", "056", "058")

EMAIL_DOMAINS = ("gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hanoi.gov.vn")

HOSPITALS = (
    ("01901", "Bệnh viện Bạch Mai"),
    ("01902", "Bệnh viện Hữu nghị Việt Đức"),
    ("01903", "Bệnh viện Đa khoa Xanh Pôn"),
    ("01904", "Bệnh viện Thanh Nhàn"),
    ("01905", "Bệnh viện E"),
    ("01906", "Bệnh viện Nhi Trung ương"),
    ("01907", "Bệnh viện Phụ sản Hà Nội"),
    ("01908", "Bệnh viện Đa khoa Đức Giang"),
    ("01909", "Bệnh viện Đa khoa Hà Đông"),
    ("01910", "Bệnh viện Tim Hà Nội"),
)
POLYCLINIC_AREAS = ("Ba Đình", "Đống Đa", "Cầu Giấy", "Hai Bà Trưng", "Long Biên", "Hoàng Mai",
                    "Thanh Xuân", "Tây Hồ", "Hà Đông", "Gia Lâm")
MEDICAL_CENTRE_AREAS = ("Sóc Sơn", "Đông Anh", "Ba Vì", "Chương Mỹ", "Thường Tín", "Mê Linh")
PRIVATE_CLINICS = ("Phòng khám Đa khoa Hồng Phát", "Phòng khám Đa khoa Thu Cúc",
                   "Phòng khám Nhi An Bình", "Phòng khám Răng Hàm Mặt Sao Mai",
                   "Phòng khám Da liễu Thanh Tâm", "Phòng khám Mắt Ánh Dương")
