"""The config's YAML is parsed by libyaml (issue 14), with lines and hostile-input bounds kept.

Every error still names the file and line; nesting past MAX_DEPTH, aliases
adding more than MAX_ALIAS_VALUES values, an alias inside its own value and files past
MAX_FILE_BYTES are refused with BadInput. Deep documents are refused before
anything recursive sees them: 3,000 and 100,000 levels, each form of nesting, in
a child process so that a crash would show as one (and not take pytest with it).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.config.yamlsrc import MAX_ALIAS_VALUES, MAX_DEPTH, MAX_FILE_BYTES, _Loader, load_yaml
from core.problems import BadInput
from tests.conftest import ROOT


def _refusal(tmp_path: Path, text: str) -> BadInput:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as exc:
        load_yaml(path)
    assert len(exc.value.problems) == 1
    return exc.value


def test_the_loader_is_libyamls() -> None:
    assert issubclass(_Loader, yaml.CSafeLoader) and issubclass(_Loader, yaml.cyaml.CParser)


def test_lines_of_the_shipped_config_match_its_text() -> None:
    """Every top-level key and each station's id sit on the line the source says."""
    path = ROOT / "config.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    src, problems = load_yaml(path)
    assert not problems
    for key in src.data:
        assert lines[src.line_of((key,)) - 1].startswith(f"{key}:")
    for i, station in enumerate(src.data["stations"]):
        assert f"id: {station['id']}" in lines[src.line_of(("stations", i, "id")) - 1]


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    exc = _refusal(tmp_path, "site:\n  name: t\n  latitude: [1, 2\nstations: []\n")
    (p,) = exc.problems
    assert p.file == str(tmp_path / "config.yaml") and p.where == "(syntax)"
    assert p.line == 4 and p.message.startswith("YAML syntax error: ")


def test_unreadable_value_names_its_line(tmp_path: Path) -> None:
    (p,) = _refusal(tmp_path, "site: {name: t}\ntariffs:\n  - {from: 2018-02-30}\n").problems
    assert p.line == 3 and "a date or time that does not exist" in p.message


def test_undefined_alias_is_named(tmp_path: Path) -> None:
    (p,) = _refusal(tmp_path, "site: {name: 张三}\nvillages: [x, *nope]\n").problems
    assert p.line == 2 and "undefined alias 'nope'" in p.message


def test_control_character_names_its_line(tmp_path: Path) -> None:
    (p,) = _refusal(tmp_path, "site: {name: 张三}\nvillages:\n  - \x07\n").problems
    assert p.line == 3 and "#x0007" in p.message


def test_duplicate_keys_are_reported_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("site: {name: a}\nmqtt: {}\nsite: {name: b}\n", encoding="utf-8")
    _, problems = load_yaml(path)
    assert [(p.where, p.line) for p in problems] == [("site", 3)]
    assert "first on line 1" in problems[0].message


def _nested(form: str, depth: int) -> str:
    """`site:` with a value depth collections down, in one of YAML's forms.

    The top-level mapping is level 1 and each node one more: the innermost
    value x is at level depth + 2.
    """
    if form == "flow-seq":
        return "site: " + "[" * depth + "x" + "]" * depth + "\n"
    if form == "flow-map":
        return "site: " + "{a: " * depth + "x" + "}" * depth + "\n"
    if form == "block-seq":
        return "site:\n" + "- " * depth + "x\n"
    if form == "unclosed":  # nothing ever closes: the parser would only learn at the end
        return "site: " + "[" * depth + "\n"
    raise AssertionError(form)


FORMS = ["flow-seq", "flow-map", "block-seq", "unclosed"]


@pytest.mark.parametrize("depth", [3_000, 100_000])
@pytest.mark.parametrize("form", FORMS)
def test_deep_nesting_is_refused_in_a_child_that_survives(
    tmp_path: Path, form: str, depth: int
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(_nested(form, depth), encoding="utf-8")
    child = (
        "import sys\n"
        "from core.config.yamlsrc import load_yaml\n"
        "from core.problems import BadInput\n"
        "from pathlib import Path\n"
        "try:\n"
        "    load_yaml(Path(sys.argv[1]))\n"
        "except BadInput as exc:\n"
        "    print(exc.render())\n"
        "else:\n"
        "    print('accepted')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", child, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr  # a C stack overflow would be -11 here
    assert f"nested deeper than {MAX_DEPTH} levels" in run.stdout, run.stdout
    assert f"{path}:" in run.stdout  # file and line


def test_block_mapping_nesting_past_the_limit_names_the_line(tmp_path: Path) -> None:
    # indentation makes deep block mappings quadratic in size; 3,000 levels is 9 MB
    text = "".join(f"{' ' * i}k{i}:\n" for i in range(3_000))
    (p,) = _refusal(tmp_path, text).problems
    # k<i> is on line i + 1 at level i + 2 (the mapping it opens too): k31 is one too many
    assert p.line == MAX_DEPTH and f"nested deeper than {MAX_DEPTH}" in p.message


@pytest.mark.parametrize("form", ["flow-seq", "flow-map", "block-seq"])
def test_nesting_up_to_the_limit_loads(tmp_path: Path, form: str) -> None:
    """A value at level MAX_DEPTH loads (all of it); one level more is refused."""
    path = tmp_path / "config.yaml"
    path.write_text(_nested(form, MAX_DEPTH - 2), encoding="utf-8")
    src, _ = load_yaml(path)
    node, level = src.data["site"], 2
    while not isinstance(node, str):
        node = node[0] if isinstance(node, list) else node["a"]
        level += 1
    assert (node, level) == ("x", MAX_DEPTH)
    (p,) = _refusal(tmp_path, _nested(form, MAX_DEPTH - 1)).problems
    assert f"nested deeper than {MAX_DEPTH} levels" in p.message


def test_nesting_through_aliases_counts(tmp_path: Path) -> None:
    """Two shallow halves, joined by an alias, nest past the limit."""
    half = MAX_DEPTH // 2 + 2
    text = f"a: &a {'[' * half}x{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    (p,) = _refusal(tmp_path, text).problems
    assert f"nested deeper than {MAX_DEPTH}" in p.message and p.line is not None


@pytest.mark.parametrize("text", ["site: &a [*a]\n", "site: &a {b: {c: *a}}\n"])
def test_alias_inside_its_own_value_is_refused(tmp_path: Path, text: str) -> None:
    (p,) = _refusal(tmp_path, text).problems
    assert p.where == "(aliases)" and "contains it" in p.message and p.line == 1


def _bomb(width: int, levels: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_expansion_is_bounded(tmp_path: Path) -> None:
    """Expansion adds ~width**levels values; refused past MAX_ALIAS_VALUES added, at once."""
    width = 10
    levels = next(n for n in range(1, 20) if width**n > MAX_ALIAS_VALUES)
    (p,) = _refusal(tmp_path, _bomb(width, levels)).problems
    assert p.where == "(aliases)" and f"{MAX_ALIAS_VALUES:,}" in p.message
    # one level less is under the bound and loads, every value there
    path = tmp_path / "ok.yaml"
    path.write_text(_bomb(width, levels - 1), encoding="utf-8")
    src, _ = load_yaml(path)
    last = src.data[f"l{levels - 2}"]
    for _ in range(levels - 2):
        last = last[0]
    assert last == ["x"] * width


def test_a_province_of_plain_values_loads(tmp_path: Path) -> None:
    """No alias, so no expansion: 720,000 values written out (a 60,000-station
    province) load; only the file size bounds them."""
    n = 720_000
    path = tmp_path / "config.yaml"
    path.write_text("v: [" + "x," * (n - 1) + "x]\n", encoding="utf-8")
    assert len(load_yaml(path)[0].data["v"]) == n


def test_plain_values_give_a_bomb_no_headroom(tmp_path: Path) -> None:
    """A bomb beside 720,000 plain values is still refused: the plain values raise the
    bound by exactly their own number, the aliases may add only MAX_ALIAS_VALUES."""
    width = 10
    levels = next(n for n in range(1, 20) if width**n > MAX_ALIAS_VALUES)
    text = "v: [" + "x," * 719_999 + "x]\n" + _bomb(width, levels)
    (p,) = _refusal(tmp_path, text).problems
    assert p.where == "(aliases)" and f"{MAX_ALIAS_VALUES:,}" in p.message
    assert p.line is not None and p.line > 1  # at the bomb, not at the plain list


def test_file_past_the_read_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    with path.open("wb") as f:  # sparse: costs no disk
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(BadInput) as exc:
        load_yaml(path)
    assert f"{MAX_FILE_BYTES:,} bytes" in exc.value.problems[0].message


@pytest.mark.parametrize("form", FORMS)
def test_deep_text_never_reaches_the_composer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """The C composer recurses per level; libyaml's own cap (1,000 levels in 0.2.5 and
    later) is not relied on."""
    composed: list[int] = []
    real = _Loader.get_single_node

    def watched(self: _Loader) -> object:
        composed.append(1)
        return real(self)

    monkeypatch.setattr(_Loader, "get_single_node", watched)
    _refusal(tmp_path, _nested(form, 200))
    assert composed == []
    path = tmp_path / "ok.yaml"  # and a shallow document is composed as usual
    path.write_text(_nested("flow-seq" if form == "unclosed" else form, 3), encoding="utf-8")
    load_yaml(path)
    assert composed == [1]
