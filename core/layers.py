"""The floors of `core`, bottom to top: each part imports only parts listed before it.

A part is a top-level module (`core/db.py` is `db`) or a package (`core/records/`
is `records`). The order is read by `tests/test_layers.py`, which fails on any
import of a later part by an earlier one, on any circle between modules, and on a
part that has no place here; `docs/ARCHITECTURE.md` draws it. A new package takes
its place on the lowest floor whose parts give it all it needs.
"""

from __future__ import annotations

FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Knows nothing of citizens: settings, text, the value types, the database, translation,
    # reference lists (wards, ICD-10, vaccines) and the validators every edge uses.
    ("foundations", ("layers", "config", "text", "values", "privacy", "db", "i18n", "reference",
                     "validation")),
    # The record: citizens, insurance, history, immunizations, visits, provenance, the display
    # rules and the book, completeness and the importers. It never asks who is reading.
    ("the record", ("records",)),
    # Services over the record, each with its own tables: database marks, the webhook inbox,
    # counts of events per ward and day, the shared pace of sending, notices to citizens, consent
    # and the access policy, who acts for whom (families), identity, staff.
    ("services on the record", ("marks", "tallies", "inbox", "pacing", "notices", "consent", "families",
                                "identity", "staff")),
    # Work done at the ward and the clinic with those services. The station's inbox
    # (volunteering.inbox) gathers volunteers' entries and citizens' correction requests.
    ("ward and clinic work", ("checkin", "corrections", "volunteering")),
    # Figures over all of it: health-centre areas, per-ward figures kept current, the monthly report.
    ("figures", ("reporting",)),
    # What starts or gathers everything: what follows an import, demo data, migrations, the
    # schema, the web app, the CLI.
    ("entry points", ("after_import", "seed", "migrate", "schema", "migrations", "web", "cli",
                      "__main__")),
)

ORDER: tuple[str, ...] = tuple(part for _floor, parts in FLOORS for part in parts)
