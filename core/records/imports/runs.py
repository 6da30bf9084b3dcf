"""Import runs: each file taken in is recorded, with the provenance its values point to."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from core.db import Database
from core.i18n import now_utc
from core.records.imports.outcome import finished_outcome
from core.records.imports.report import ImportReport
from core.records.operations import ImportKind, ImportRun
from core.records.provenance import Provenance, Source

log = logging.getLogger(__name__)


async def start_run(db: Database, kind: ImportKind, file_name: str, sha256: str | None,
                    sources: Iterable[Source] = (), *,
                    run_id: int | None = None) -> tuple[int, dict[Source, int]]:
    """Records the run (or takes the one `start_import` recorded, `run_id`) and one provenance
    row per source the file's values come from."""
    now = now_utc()
    async with db.transaction() as session:
        if run_id is None:
            run = ImportRun(kind=kind, file_name=file_name[:255], sha256=sha256, started_at=now,
                            updated_at=now)
            session.add(run)
            await session.flush()
        else:
            found = await session.get(ImportRun, run_id)
            assert found is not None and found.kind == kind
            run = found
            run.sha256 = sha256
        rows = {
            source: Provenance(source=source,
                               reference=f"{kind.value} #{run.id}: {file_name}"[:200],
                               received_at=now, verified=source.is_official)
            for source in sources
        }
        session.add_all(rows.values())
        await session.flush()
        return run.id, {source: row.id for source, row in rows.items()}


async def finish_run(db: Database, run_id: int, report: ImportReport) -> None:
    async with db.transaction() as session:
        run = await session.get(ImportRun, run_id)
        assert run is not None
        run.finished_at = run.updated_at = now_utc()
        for name, value in finished_outcome(report).items():
            setattr(run, name, value)
        seconds = (run.finished_at - run.started_at).total_seconds()
    log_finished_run(run_id, run.kind, run.file_name, seconds, report)


def log_finished_run(run_id: int, kind: ImportKind, file_name: str, seconds: float,
                     report: ImportReport) -> None:
    # Counts and the file name only: rows and their reasons stay in the operator's report.
    log.info("import run %d (%s, %s) finished in %.1f s: read %d, created %d, updated %d, "
             "unchanged %d, rejected %d, quarantined %d", run_id, kind.value, file_name,
             seconds, report.read, report.created, report.updated, report.unchanged,
             report.rejected, report.quarantined)
