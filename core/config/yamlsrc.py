"""Read a YAML file into plain data plus the line of every key path.

PyYAML keeps the last of two equal keys silently; we report it instead.
Line numbers let every config problem point at the line to edit.

Parsing is libyaml's (yaml.CSafeLoader), bounded before anything recursive runs:
at most MAX_FILE_BYTES read, MAX_DEPTH levels counted in the flat event stream,
then, on the composed node graph walked without recursion, no alias inside its
own value and at most MAX_ALIAS_VALUES values added by expanding aliases. A document
without aliases is bounded by its size alone (a value takes at least two bytes).
"""

from __future__ import annotations

import gc
import re
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
#: values that expanding aliases may add to those written in the text (a real config
#: repeats a few device blocks: hundreds): bounds the work an alias "bomb" (billion
#: laughs) asks for, refused before expanding. Values written out are bounded by
#: MAX_FILE_BYTES alone: a 60,000-station province is ~720,000 of them
MAX_ALIAS_VALUES = 200_000
#: nesting levels (the deepest real key, allocation rules, is 6 down)
MAX_DEPTH = 32


def _problem(path: Path, where: str, message: str, fix: str, line: int | None = None) -> BadInput:
    return BadInput([Problem(where, message, fix, file=str(path), line=line)], what=str(path))


# libyaml parses and composes in C (69 KB: ~20 ms against ~280 ms for PyYAML's pure-Python
# loader) and keeps the marks, so every node still knows its line
class _Loader(yaml.CSafeLoader):
    """The C SafeLoader whose value errors (a 13th month, a 5,000-digit number) point
    at their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError, TypeError) as exc:
            # the exception text may quote the value; the line is enough to find it
            what = _UNREADABLE.get(node.tag, "a value that cannot be read")
            raise yaml.constructor.ConstructorError(
                None, None, f"{what} ({type(exc).__name__})", node.start_mark
            ) from None


#: node events -> levels they open; looked up by type() because the loop below runs
#: once per event (8,500 for the demo config) and isinstance chains cost twice as much
_NODE_OPENS = {
    yaml.ScalarEvent: 0,
    yaml.AliasEvent: 0,
    yaml.SequenceStartEvent: 1,
    yaml.MappingStartEvent: 1,
}
_CLOSE = frozenset({yaml.SequenceEndEvent, yaml.MappingEndEvent})


def _check_depth(text: str, path: Path) -> tuple[bool, int]:
    """Refuse text nested deeper than MAX_DEPTH, from libyaml's events, before composing.

    The C composer recurses once per level (and libyaml's own cap, where it has one,
    is 1,000 levels): counting levels in the flat event stream first means nothing
    recursive ever sees a deep document. It stops at the first level too many.
    Returns (tree, values): tree when the document has no alias (so no cycle and no
    expansion: the node-graph walk has nothing to add), and the values written in it.
    """
    parser = yaml.CSafeLoader(text)
    try:
        depth = 0  # open collections; a node inside them is one level deeper
        nodes, aliases = 0, False
        while (kind := type(event := parser.get_event())) is not yaml.StreamEndEvent:
            opens = _NODE_OPENS.get(kind)
            if opens is not None:
                # the same count as _check_size's: the root is level 1, a scalar counts
                if depth >= MAX_DEPTH:
                    raise _too_deep(path, event.start_mark.line + 1)
                depth += opens
                nodes += 1
                aliases = aliases or kind is yaml.AliasEvent
            elif kind in _CLOSE:
                depth -= 1
    except yaml.YAMLError:
        # a syntax error with every level before it shallow enough: composing stops at
        # the same place (or at an earlier undefined alias) and reports it in order
        return False, nodes
    finally:
        parser.dispose()
    return not aliases, nodes


def _too_deep(path: Path, line: int | None) -> BadInput:
    return _problem(
        path,
        "(syntax)",
        f"nested deeper than {MAX_DEPTH} levels",
        "a config is a few levels of sections and lists; check the brackets",
        line,
    )


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
    exist, nesting deeper than MAX_DEPTH, aliases adding more than MAX_ALIAS_VALUES.
    """
    text = _read_text(path)
    loader = None
    # a province's config is ~1.5 M nodes and values, none in a cycle (a cyclic alias is
    # refused below): the cyclic collector would walk them again every few thousand
    # allocations, half the load time at 60,000 stations
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        tree, written = _check_depth(text, path)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None and not tree:
            _check_size(node, path, written + MAX_ALIAS_VALUES)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    finally:
        if loader is not None:
            loader.dispose()
        if gc_was_on:
            gc.enable()
    src = YamlSource(path, data)
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), src, problems)
    return src, problems


def _syntax_error(exc: yaml.YAMLError, text: str, path: Path) -> BadInput:
    """BadInput naming the line of a libyaml error, in words that need no YAML manual."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    msg = getattr(exc, "problem", None) or type(exc).__name__
    if msg == "exceeded maximum nesting depth":  # libyaml's own cap (1,000 levels)
        return _too_deep(path, line)
    if msg == "found undefined alias" and mark is not None:
        # libyaml leaves the name out; it is the word at the mark
        name = re.match(r"\*([^\s,\[\]{}]{1,64})", text.splitlines()[mark.line][mark.column :])
        msg = f"found undefined alias {name.group(1)!r}" if name else msg
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml gives the offset in UTF-8 bytes; the character itself may be unprintable
        line = text.encode("utf-8")[: exc.position].count(b"\n") + 1
        msg = f"{exc.reason} (character #x{exc.character:04x})"
    return _problem(
        path,
        "(syntax)",
        f"YAML syntax error: {msg}",
        "check indentation and quoting on this line",
        line,
    )


def _check_size(root: yaml.Node, path: Path, max_values: int) -> None:
    """Refuse a document that is cyclic, nests too deep or expands past max_values
    (the values written plus MAX_ALIAS_VALUES).

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
            if size[key] > max_values:
                raise _problem(
                    path,
                    "(aliases)",
                    f"its aliases (*name) would add more than {MAX_ALIAS_VALUES:,} values "
                    "once expanded",
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
        if depth > MAX_DEPTH:  # through aliases: the text alone was shallow enough
            raise _too_deep(path, node.start_mark.line + 1)
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
