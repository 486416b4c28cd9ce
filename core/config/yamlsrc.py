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


#: a config is text of a few hundred kB; anything this big is not one
MAX_FILE_BYTES = 16 * 1024 * 1024
#: values after alias expansion (the Jizhou fleet of 221 stations has ~7,600): bounds
#: the work an alias "bomb" (billion laughs) asks for; refused before expanding
MAX_NODES = 200_000
#: nesting levels (the deepest real key, allocation rules, is 6 down)
MAX_DEPTH = 32


def _problem(path: Path, where: str, message: str, fix: str, line: int | None = None) -> BadInput:
    return BadInput([Problem(where, message, fix, file=str(path), line=line)], what=str(path))


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops at MAX_DEPTH while scanning, and whose value errors
    (a 13th month, a 5,000-digit number) point at their line."""

    # PyYAML's scanner is quadratic in the flow nesting and its composer recursive:
    # ten thousand "[" would take minutes, then end in a RecursionError
    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        super().fetch_flow_collection_start(TokenClass)
        self._depth_guard()

    def add_indent(self, column: int) -> bool:
        added = super().add_indent(column)
        self._depth_guard()
        return added

    def _depth_guard(self) -> None:
        if self.flow_level + len(self.indents) > MAX_DEPTH:
            raise yaml.scanner.ScannerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark()
            )

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            # the exception text may quote the value; the line is enough to find it
            what = _UNREADABLE.get(node.tag, "a value that cannot be read")
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} ({type(exc).__name__})", node.start_mark
            ) from None


_UNREADABLE = {
    "tag:yaml.org,2002:timestamp": "a date or time that does not exist",
    "tag:yaml.org,2002:int": "a whole number too long to read",
    "tag:yaml.org,2002:float": "a number that cannot be read",
}


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, or BadInput naming the file (never its contents)."""
    try:
        # read at most one byte past the limit: /dev/zero or a huge log never fills memory
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise _problem(
                path,
                "(file)",
                f"larger than a config can be ({MAX_FILE_BYTES:,} bytes)",
                "give the config file, not a data file; large registries go in CSV files",
            )
        return raw.decode("utf-8-sig")
    except FileNotFoundError:
        raise _problem(
            path,
            "(file)",
            f"{path} does not exist",
            "give the config with -c FILE or set PVLEDGER_CONFIG",
        ) from None
    except UnicodeDecodeError as exc:
        raise _problem(
            path, "(file)", f"not UTF-8 text ({exc.reason})", "save the file as UTF-8"
        ) from None
    except (OSError, ValueError) as exc:  # a folder, no permission, a NUL in the name
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a file name"
        raise _problem(
            path, "(file)", f"cannot read {path}: {reason}", "give a readable file"
        ) from None


def load_yaml(path: Path) -> tuple[YamlSource, list[Problem]]:
    """Parse path; syntax errors raise BadInput, duplicate keys are returned as problems.

    Only BadInput escapes, whatever the bytes: syntax errors, values that cannot
    exist, nesting deeper than MAX_DEPTH, aliases expanding past MAX_NODES.
    """
    text = _read_text(path)
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = getattr(exc, "problem", None) or type(exc).__name__
        raise _problem(
            path,
            "(syntax)",
            f"YAML syntax error: {msg}",
            "check indentation and quoting on this line",
            line,
        ) from None
    except RecursionError:
        # the parser itself recurses: a document nested hundreds deep stops it first
        raise _problem(
            path,
            "(syntax)",
            f"nested deeper than {MAX_DEPTH} levels",
            "a config is a few levels of sections and lists; check the brackets",
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    src = YamlSource(path, data)
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), src, problems)
    return src, problems


def _check_size(root: yaml.Node, path: Path) -> None:
    """Refuse a document that is cyclic, nests too deep or expands past MAX_NODES.

    Sizes are memoised per node, so an alias bomb costs one pass over its few
    distinct nodes, not over the billions of values it would expand to.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    # iterative post-order walk: (node, depth, children pushed?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        kids = _children(node)
        if expanded:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            if size[key] > MAX_NODES:
                raise _problem(
                    path,
                    "(aliases)",
                    f"holds more than {MAX_NODES:,} values once its aliases (*name) are expanded",
                    "use fewer nested aliases; a larger registry goes in a CSV file",
                    node.start_mark.line + 1,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _problem(
                path,
                "(aliases)",
                "an alias refers to the value that contains it",
                "a config value cannot contain itself; remove the alias",
                node.start_mark.line + 1,
            )
        if depth > MAX_DEPTH:
            raise _problem(
                path,
                "(syntax)",
                f"nested deeper than {MAX_DEPTH} levels",
                "a config is a few levels of sections and lists; check the brackets",
                node.start_mark.line + 1,
            )
        if not kids:
            size[key] = 1
            continue
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((k, depth + 1, False) for k in kids if id(k) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
