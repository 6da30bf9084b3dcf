"""What a finished run's row keeps of its report, and the report as JSON (`--report`).

Both hold the counts and each problem's line, place, whether the row was rejected or only
noted, and the catalogue message (id and parameters, so each reader sees it in their own
language); never a value of the file: problems never carry one (`report.Problem`).
"""

from __future__ import annotations

from typing import Any

from core.i18n import Translator
from core.records.imports.quarantine import message_from_json, message_to_json
from core.records.imports.report import ImportReport, Problem
from core.records.operations import ImportState

# The console lists a run's problems; a file with more has them counted, and the operator
# fixes the first thousand before the rest are worth reading.
MAX_STORED_PROBLEMS = 1000
COUNTS = ("read", "created", "updated", "unchanged", "rejected", "quarantined")


def problem_to_json(problem: Problem) -> dict[str, Any]:
    return {"line": problem.line, "where": problem.where, "rejected": problem.rejected,
            "message": message_to_json(problem.message)}


def problem_from_json(data: dict[str, Any]) -> Problem:
    return Problem(data.get("line"), message_from_json(data.get("message") or {}),
                   bool(data.get("rejected")), data.get("where"))


def counts(*reports: ImportReport) -> dict[str, int]:
    return {name: sum(getattr(r, name) for r in reports) for name in COUNTS}


def finished_outcome(*reports: ImportReport) -> dict[str, Any]:
    """The run row's columns once its file is done (`reports` add up to the file's)."""
    problems = [p for r in reports for p in r.problems]
    return {**counts(*reports), "state": ImportState.FINISHED, "problem_count": len(problems),
            "problems": [problem_to_json(p) for p in problems[:MAX_STORED_PROBLEMS]]}


def report_document(report: ImportReport, t: Translator, *, kind: str, dry_run: bool,
                    run_id: int | None = None) -> dict[str, Any]:
    """The report as the operator keeps it: counts, and each problem with its reason in the
    operator's language beside the catalogue id (the same reason, whatever the language)."""
    return {
        "file": report.file_name,
        "kind": kind,
        "dry_run": dry_run,
        "run_id": run_id,
        "counts": counts(report),
        "problem_count": len(report.problems),
        "problems": [{
            "line": p.line,
            "where": p.where,
            "rejected": p.rejected,
            "reason": p.message.render(t),
            "message_id": p.message.msgid,
        } for p in report.problems],
    }


__all__ = ["COUNTS", "MAX_STORED_PROBLEMS", "counts", "finished_outcome", "problem_from_json",
           "problem_to_json", "report_document"]
