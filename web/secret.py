"""The session signing key: from an environment variable, else generated once into a file."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.problems import BadInput, Problem


def secret_key(path: Path, env_name: str | None) -> str:
    """The key named by env_name, else the one in path (created 0600 on first use)."""
    if env_name:
        value = os.environ.get(env_name, "")
        if len(value) < 32:
            raise BadInput(
                [
                    Problem(
                        "web.secret_key_env",
                        f"${env_name} is unset or shorter than 32 characters",
                        f"export {env_name}=$(python3 -c 'import secrets; "
                        "print(secrets.token_urlsafe(48))') or remove secret_key_env",
                    )
                ],
                what="web",
            )
        return value
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once keep whichever key was written first
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key + "\n")
    return key
