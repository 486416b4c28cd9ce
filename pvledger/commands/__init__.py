"""Subcommands: each module here has ``add_parser(subparsers)`` setting ``func``.

Only commands that work are listed; a new command is a new module plus one
name in COMMANDS.
"""

COMMANDS: tuple[str, ...] = (
    "demo",
    "check",
    "simulate",
    "collect",
    "readings",
    "import_meter",
    "receipts",
    "receivables",
    "revenue",
    "payments",
    "notice",
    "statements",
    "plans",
    "alerts",
    "workorders",
    "appraisal",
    "backup",
    "restore",
    "probe",
    "serve",
    "users",
)
