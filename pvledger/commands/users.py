"""`pvledger users`: the web application's users, and the check of its audit trail."""

from __future__ import annotations

import argparse
import os
import sys

from pvledger.commands.common import config_from

ROLES = ("admin", "finance", "om", "village", "auditor")  # web/roles.py, kept light here


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `users add | list | disable | enable | reset-password | verify-audit`."""
    p = sub.add_parser(
        "users",
        help="web users: add, list, disable; verify the audit trail",
        description="Users of `pvledger serve` (docs/web.md). Passwords come from stdin or "
        "--password-env VAR, never from an argument; a new or reset user must change the "
        "password at the next login. Every change is in the audit trail.",
    )
    users = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users.add_parser("add", help="add a user (password from stdin or --password-env)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--village", action="append", default=[], metavar="ID", help="a village the user sees"
    )
    add.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    add.set_defaults(func=run_add)
    ls = users.add_parser("list", help="list users with role, villages and state")
    ls.set_defaults(func=run_list)
    for name, helptext in (("disable", "disable a user"), ("enable", "enable a user again")):
        q = users.add_parser(name, help=helptext)
        q.add_argument("name")
        q.set_defaults(func=run_active, active=name == "enable")
    reset = users.add_parser("reset-password", help="a one-time password (stdin or --password-env)")
    reset.add_argument("name")
    reset.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    reset.set_defaults(func=run_reset)
    verify = users.add_parser(
        "verify-audit", help="check the audit trail's hash chain: exit 1 naming what was changed"
    )
    verify.set_defaults(func=run_verify)


def _setup(args: argparse.Namespace) -> None:
    from web.setup import configure

    configure(config_from(args))


def _password(args: argparse.Namespace) -> str:
    """The password from $VAR or stdin (prompted twice on a terminal)."""
    from core.problems import BadInput, Problem

    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise BadInput(
                [
                    Problem(
                        "--password-env",
                        f"${args.password_env} is unset or empty",
                        "export it first",
                    )
                ],
                "users",
            )
        return value
    if sys.stdin.isatty():
        import getpass

        first, again = getpass.getpass("password: "), getpass.getpass("again: ")
        if first != again:
            raise BadInput(
                [Problem("password", "the two entries differ", "type it again")], "users"
            )
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _user(name: str):
    from django.contrib.auth import get_user_model

    from core.problems import BadInput, Problem

    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise BadInput([Problem("NAME", f"no user {name!r}", "see `pvledger users list`")], "users")
    return user


def run_add(args: argparse.Namespace) -> int:
    """Add a user; bad role, village, name or password exits 2 and changes nothing."""
    from core.problems import raise_if

    _setup(args)
    from web import accounts

    raise_if(accounts.access_problems(args.role, args.village), "users add")
    raise_if(accounts.name_problems(args.name), "users add")
    password = _password(args)
    raise_if(accounts.password_problems(password, args.name), "users add")
    accounts.create(args.name, args.role, args.village, password)
    print(f"added {args.name} ({args.role}); the first login asks for a new password")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """One line per user."""
    _setup(args)
    from django.contrib.auth import get_user_model

    rows = [("name", "role", "villages", "state", "last login")]
    for u in get_user_model().objects.order_by("username"):
        state = (
            "disabled"
            if not u.is_active
            else "must-change-password"
            if u.must_change_password
            else "active"
        )
        last = u.last_login.strftime("%Y-%m-%dT%H:%M:%SZ") if u.last_login else "-"
        rows.append((u.username, u.role, ",".join(u.villages) or "-", state, last))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def run_active(args: argparse.Namespace) -> int:
    """Disable (or enable) a user; a disabled user's sessions stop working at once."""
    _setup(args)
    from web import accounts

    user = _user(args.name)
    changed = accounts.change(user, active=args.active)
    word = "enabled" if args.active else "disabled"
    print(f"{args.name}: {word}" if changed else f"{args.name}: already {word}")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    """Give a user a one-time password."""
    from core.problems import raise_if

    _setup(args)
    from web import accounts

    user = _user(args.name)
    password = _password(args)
    raise_if(accounts.password_problems(password, args.name), "users reset-password")
    accounts.reset_password(user, password)
    print(f"{args.name}: one-time password set; the next login asks for a new one")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the audit trail is intact, else 1 with every problem named."""
    from web import audit_check
    from web.settings import db_path

    config = config_from(args)
    db = db_path(config)
    found = audit_check.problems(db)
    if found:
        print(f"{db}: audit trail broken", file=sys.stderr)
        for p in found:
            print(f"  - {p}", file=sys.stderr)
        return 1
    n = len(audit_check.entries(db))
    print(f"{db}: audit trail intact ({n} entries, head matches)")
    return 0
