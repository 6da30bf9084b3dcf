"""Imports without a terminal: district and city staff upload a roster, an immunization file or a
clinic's QĐ 130 XML, watch it progress and read the report, each rejected row with its line.

The progress lives in the run's row (core.records.imports.tracking), so any worker shows it; the
import itself runs in the worker that took the upload. If that worker stops, the run's heartbeat
stops and the run reads as interrupted: upload the file again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from pathlib import Path

from aiohttp import web

from core.after_import import after_import
from core.config import PROJECT_ROOT
from core.i18n import N_
from core.records.imports.report import FileUnreadable
from core.records.imports.tracking import import_status, recent_imports, run_import_file, start_import
from core.records.operations import ImportKind, ImportState
from core.staff.model import StaffRole
from desk.pages.team import SETTINGS
from desk.render import page
from desk.security import DATABASE, STALE_FORM, multipart_csrf, redirect, refusal, requires

log = logging.getLogger(__name__)
RUNNING = web.AppKey("desk_imports_running", set)
KINDS = {ImportKind.ROSTER: N_("Population and insurance roster (CSV)"),
         ImportKind.IMMUNIZATIONS: N_("Immunization registry (CSV)"),
         ImportKind.QD130_XML: N_("A clinic's QĐ 130 file (XML)"),
         ImportKind.FACILITIES: N_("Registry of health facilities (CSV)")}
STATES = {ImportState.RUNNING: N_("Running"), ImportState.FINISHED: N_("Import finished"),
          ImportState.FAILED: N_("Failed"), ImportState.INTERRUPTED: N_("Interrupted")}
ALLOWED = (StaffRole.OPERATOR, StaffRole.CENTRE_VIEWER)
_CHUNK = 1 << 20


def upload_dir() -> Path:
    folder = Path(os.environ.get("EHR_UPLOAD_DIR") or PROJECT_ROOT / "var" / "uploads")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@requires(*ALLOWED)
async def show(request: web.Request) -> web.StreamResponse:
    runs = await recent_imports(request.app[DATABASE])
    return page(request, "imports.html", runs=runs, kinds=KINDS, states=STATES, problem=None,
                limit=request.app[SETTINGS].upload_limit_mb)


async def _refuse_upload(request: web.Request, problem: str, status: int) -> web.Response:
    runs = await recent_imports(request.app[DATABASE])
    return page(request, "imports.html", runs=runs, kinds=KINDS, states=STATES, problem=problem,
                limit=request.app[SETTINGS].upload_limit_mb, status=status)


@requires(*ALLOWED)
async def upload(request: web.Request) -> web.StreamResponse:
    """The form's parts in order: the CSRF token first, then the kind, the dry-run box, the file
    (streamed to disk, never held whole in memory)."""
    limit = request.app[SETTINGS].upload_limit_mb * 1024 * 1024
    reader = await request.multipart()
    fields: dict[str, str] = {}
    saved: Path | None = None
    name = ""
    try:
        while (part := await reader.next()) is not None:
            if part.name != "file":
                # A form field is short: read no more of it than that, whatever is sent.
                fields[str(part.name)] = (await part.read_chunk(256)).decode(  # type: ignore[union-attr]
                    "utf-8", "replace")
                if part.name == "csrf" and not await multipart_csrf(request, fields["csrf"]):
                    return refusal(request, STALE_FORM, 403)
                continue
            if "csrf" not in fields:
                return refusal(request, STALE_FORM, 403)
            name = Path(part.filename or "upload").name[:200]  # type: ignore[union-attr]
            saved = upload_dir() / f"{secrets.token_hex(8)}-{name}"
            size = 0
            with saved.open("wb") as out:
                while chunk := await part.read_chunk(_CHUNK):  # type: ignore[union-attr]
                    size += len(chunk)
                    if size > limit:
                        raise OverflowError
                    out.write(chunk)
    except OverflowError:
        saved and saved.unlink(missing_ok=True)
        return await _refuse_upload(request, N_("The file is larger than the console takes. Import it "
                                                "from the command line."), 413)
    if saved is None or "csrf" not in fields or fields.get("kind") not in ImportKind._value2member_map_ \
            or ImportKind(fields["kind"]) not in KINDS:
        saved and saved.unlink(missing_ok=True)
        return await _refuse_upload(request, N_("Choose what kind of file it is, and the file."), 422)
    db = request.app[DATABASE]
    run_id = await start_import(db, ImportKind(fields["kind"]), saved, dry_run="dry_run" in fields,
                                file_name=name)
    task = asyncio.create_task(_run(db, run_id, saved))
    request.app[RUNNING].add(task)
    task.add_done_callback(request.app[RUNNING].discard)
    return redirect(f"/desk/imports/{run_id}")


async def _run(db, run_id: int, path: Path) -> None:
    try:
        await run_import_file(db, run_id, path)
        await after_import(db)
    except FileUnreadable:
        pass  # the run says why, as its one problem
    except Exception:  # the run is marked failed with the kind of error; logged there
        log.exception("import run %d stopped", run_id)
    finally:
        path.unlink(missing_ok=True)


@requires(*ALLOWED)
async def one(request: web.Request) -> web.StreamResponse:
    number = request.match_info["run"]
    status = await import_status(request.app[DATABASE], int(number)) if number.isdigit() else None
    if status is None:
        raise web.HTTPNotFound()
    return page(request, "import.html", run=status, kinds=KINDS, states=STATES,
                running=status.state is ImportState.RUNNING)


async def stop_imports(app: web.Application) -> None:
    """On shutdown the imports in progress stop as interrupted (their rows say so)."""
    for task in list(app[RUNNING]):
        task.cancel()
    await asyncio.gather(*app[RUNNING], return_exceptions=True)


def add_routes(app: web.Application) -> None:
    app[RUNNING] = set()
    app.on_shutdown.append(stop_imports)
    app.router.add_get("/imports", show)
    app.router.add_post("/imports", upload)
    app.router.add_get("/imports/{run}", one)
