"""Gathering config problems: key path, file:line, message and fix, in one list."""

from __future__ import annotations

from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from core.config.alerts import Notifier
from core.config.devices import SOURCES
from core.config.yamlsrc import KeyPath, YamlSource, render_path
from core.problems import Problem

M = TypeVar("M", bound=BaseModel)

#: what to do about each kind of pydantic error
FIX_BY_TYPE = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling against docs/configuration.md",
    "literal_error": "use one of the values listed",
    "union_tag_invalid": "use one of the values listed",
    "union_tag_not_found": "add the key that selects the kind",
    "int_parsing": "write a whole number",
    "float_parsing": "write a number",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than_equal": "use a smaller value",
    "too_short": "add at least one entry",
    "date_from_datetime_parsing": "write the date as YYYY-MM-DD",
    "date_parsing": "write the date as YYYY-MM-DD",
}


def union_tags(union: Any) -> frozenset[str]:
    """The values of the key that selects a member of a discriminated union."""
    members, info = get_args(union)
    key = info.discriminator
    return frozenset(v for m in get_args(members) for v in get_args(m.model_fields[key].annotation))


#: names pydantic puts in an error's location for the member of a union (users never
#: wrote them): every device source in the registry and every notifier type
UNION_TAGS: frozenset[str] = frozenset(SOURCES) | union_tags(Notifier)


class ProblemCollector:
    """Gathers problems with key paths and line numbers from one YAML source."""

    def __init__(self, src: YamlSource):
        self.src = src
        self.problems: list[Problem] = []

    def add(self, key_path: KeyPath, message: str, fix: str = "") -> None:
        """Record one problem at key_path (its line looked up in the source)."""
        self.problems.append(
            Problem(
                render_path(key_path),
                message,
                fix,
                file=self.src.path.name,
                line=self.src.line_of(key_path),
            )
        )

    def model(self, cls: type[M], data: Any, key_path: KeyPath) -> M | None:
        """Validate one section/item; record its errors and return None on failure."""
        try:
            return cls.model_validate(data if data is not None else {})
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if not _is_union_tag(p))
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "literal_error":
                    msg = f"{msg} (got {err.get('input')!r})"
                self.add((*key_path, *loc), msg, FIX_BY_TYPE.get(err["type"], ""))
            return None

    def items(self, cls: type[M], key: str) -> list[tuple[int, M]]:
        """Validate each item of a top-level list on its own, so one bad item hides nothing."""
        raw = self.src.data.get(key) if isinstance(self.src.data, dict) else None
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.add(
                (key,),
                f"must be a list, got {type(raw).__name__}",
                f"write {key}: followed by '- ' items",
            )
            return []
        out = []
        for i, item in enumerate(raw):
            m = self.model(cls, item, (key, i))
            if m is not None:
                out.append((i, m))
        return out


def _is_union_tag(part: Any) -> bool:
    # pydantic names the member of a union in the error location; users never wrote it
    return isinstance(part, str) and (part in UNION_TAGS or "[" in part)


def dedupe(problems: list[Problem]) -> list[Problem]:
    """The problems without repeats of the same message at the same place, in order."""
    seen, out = set(), []
    for p in problems:
        key = (p.where, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
