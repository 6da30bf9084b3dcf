"""`audit verify`: checks the hash chains of the access log and of the consent history."""

from __future__ import annotations

import argparse

from core.cli import Context
from core.consent.access import verify_audit_chains
from core.i18n import N_

PROBLEMS = {
    "changed": N_("{table}: row {row} was changed."),
    "inserted": N_("{table}: row {row} was inserted outside the log."),
    "deleted": N_("{table}: row {row} was deleted."),
}


async def verify(args: argparse.Namespace, context: Context) -> int:
    t = context.t
    db = await context.open_database()
    try:
        breaks = await verify_audit_chains(db)
    finally:
        await db.dispose()
    if not breaks:
        context.say(t.text(N_("Access log and consent history are intact.")))
        return 0
    for problem in breaks:
        context.error(t.text(PROBLEMS[problem.problem], table=problem.chain, row=problem.row_id))
    return 1


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("audit", help="check the append-only logs")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub = actions.add_parser("verify", help="report the first changed, inserted or deleted row")
    sub.set_defaults(handler=verify)
