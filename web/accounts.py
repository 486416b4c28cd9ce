"""Creating and changing users, shared by `pvledger users` and the admin users page.

Each change is audited. Checks return Problems (where, message, fix) so the command
line exits 2 naming the village or role, and the page shows the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from core.problems import Problem
from web import audit, runtime
from web.roles import ROLES

#: the audit user name of changes made on the command line
CLI = "(command line)"


def access_problems(role: str, villages: Sequence[str]) -> list[Problem]:
    """What is wrong with a role and village list for this config (empty: fine)."""
    config = runtime.config()
    out = []
    if role not in ROLES:
        out.append(Problem("--role", f"unknown role {role!r}", f"use one of {', '.join(ROLES)}"))
    for v in villages:
        if v not in config.village_by_id:
            known = ", ".join(sorted(config.village_by_id)[:8])
            out.append(
                Problem(
                    "--village",
                    f"village {v!r} is not in {config.path.name}",
                    f"use a villages[].id of the config (e.g. {known})",
                )
            )
    if role == "village" and not villages:
        out.append(
            Problem("--village", "a village user needs at least one village", "add --village ID")
        )
    if role != "village" and villages:
        out.append(
            Problem(
                "--village",
                f"role {role} sees every village",
                "drop --village, or use --role village",
            )
        )
    return out


def name_problems(name: str) -> list[Problem]:
    """A new user name: 1-150 letters, digits and @.+-_, not taken."""
    User = get_user_model()
    try:
        User._meta.get_field("username").run_validators(name)
    except ValidationError as exc:
        return [Problem("NAME", " ".join(exc.messages), "use letters, digits and @ . + - _")]
    if not name or User.objects.filter(username=name).exists():
        return [Problem("NAME", f"user {name!r} already exists", "choose another name")]
    return []


def password_problems(password: str, name: str = "") -> list[Problem]:
    """The password checked against the configured validators."""
    User = get_user_model()
    try:
        validate_password(password, User(username=name))
    except ValidationError as exc:
        return [
            Problem("password", m, "choose a longer, less common password") for m in exc.messages
        ]
    return []


def create(
    name: str,
    role: str,
    villages: Sequence[str],
    password: str,
    *,
    request: Any = None,
    by: str = CLI,
) -> Any:
    """Create a user who must change the password at first login; audited."""
    User = get_user_model()
    user = User(username=name, role=role, villages=sorted(set(villages)), must_change_password=True)
    user.set_password(password)  # slow (Argon2): before the write lock is taken
    with transaction.atomic():  # the user and its audit entry, or neither
        user.save()
        audit.record(
            request,
            "user.add",
            {"user": name, "role": role, "villages": user.villages},
            username=None if request is not None else by,
        )
    return user


def change(
    user: Any,
    *,
    role: str | None = None,
    villages: Sequence[str] | None = None,
    active: bool | None = None,
    request: Any = None,
    by: str = CLI,
) -> dict[str, list[Any]]:
    """Change role, villages or active; audited with before and after. Returns the changes."""
    before = {"role": user.role, "villages": list(user.villages), "active": user.is_active}
    if role is not None:
        user.role = role
    if villages is not None:
        user.villages = sorted(set(villages))
    if active is not None:
        user.is_active = active
    after = {"role": user.role, "villages": list(user.villages), "active": user.is_active}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        with transaction.atomic():
            user.save(update_fields=["role", "villages", "is_active"])
            audit.record(
                request,
                "user.change",
                {"user": user.username, "changed": changed},
                username=None if request is not None else by,
            )
    return changed


def reset_password(user: Any, password: str, *, request: Any = None, by: str = CLI) -> None:
    """Set a one-time password (must be changed at the next login), lift a lockout; audited."""
    from axes.utils import reset

    user.set_password(password)
    user.must_change_password = True
    with transaction.atomic():
        user.save(update_fields=["password", "must_change_password"])
        reset(username=user.username)  # a locked login opens with the new password
        audit.record(
            request,
            "user.password_reset",
            {"user": user.username},
            username=None if request else by,
        )
