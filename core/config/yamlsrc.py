"""Read a YAML file into plain data plus the line of every key path.

PyYAML keeps the last of two equal keys silently; we report it instead.
Line numbers let every config problem point at the line to edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.problems import BadInput, Problem

KeyPath = tuple[str | int, ...]


@dataclass
class YamlSource:
    """Parsed YAML data with the 1-based line of each key path."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: KeyPath) -> int | None:
        """Line of the deepest known prefix of key_path."""
        for n in range(len(key_path), -1, -1):
            line = self.lines.get(tuple(key_path[:n]))
            if line is not None:
                return line
        return None


def render_path(key_path: KeyPath) -> str:
    """('stations', 3, 'owner') -> 'stations[3].owner'."""
    out = ""
    for part in key_path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def load_yaml(path: Path) -> tuple[YamlSource, list[Problem]]:
    """Parse path; syntax errors raise BadInput, duplicate keys are returned as problems."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(
            [
                Problem(
                    "(file)",
                    f"{path} does not exist",
                    "give the config with -c FILE or set PVLEDGER_CONFIG",
                    file=str(path),
                )
            ],
            what=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise BadInput(
            [
                Problem(
                    "(file)",
                    f"not UTF-8 text ({exc.reason})",
                    "save the file as UTF-8",
                    file=str(path),
                )
            ],
            what=str(path),
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = getattr(exc, "problem", None) or str(exc)
        raise BadInput(
            [
                Problem(
                    "(syntax)",
                    f"YAML syntax error: {msg}",
                    "check indentation and quoting on this line",
                    file=str(path),
                    line=line,
                )
            ],
            what=str(path),
        ) from None
    finally:
        loader.dispose()
    src = YamlSource(path, data)
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), src, problems)
    return src, problems


def _walk(node: yaml.Node, key_path: KeyPath, src: YamlSource, problems: list[Problem]) -> None:
    src.lines.setdefault(key_path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        render_path((*key_path, key)),
                        f"key appears twice (first on line {seen[key]})",
                        "keep one of them; YAML would silently use the last",
                        file=str(src.path),
                        line=line,
                    )
                )
            seen[key] = line
            child = (*key_path, key)
            src.lines[child] = line
            _walk(value_node, child, src, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*key_path, i), src, problems)
