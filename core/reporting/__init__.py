"""Figures over the record for the people who run the pilot: per ward, per health centre, city.

`centres`: the regional health centres and their wards. `figures`: the stored per-ward figures
and their refresh. `dashboard`: what the console's dashboards read. `monthly`: the monthly report
(rows, XLSX, CSV). No structure here holds a person's name, ID or phone: counts only.
"""

from core.reporting.centres import Centre, centre_of, centres
from core.reporting.dashboard import (
    Dashboard,
    FieldShare,
    Totals,
    UnknownArea,
    WardRow,
    Week,
    centre_dashboard,
    city_dashboard,
    ward_dashboard,
)
from core.reporting.figures import refresh, refresh_if_due

__all__ = ["Centre", "Dashboard", "FieldShare", "Totals", "UnknownArea", "WardRow", "Week",
           "centre_dashboard",
           "centre_of", "centres", "city_dashboard", "refresh", "refresh_if_due", "ward_dashboard"]
