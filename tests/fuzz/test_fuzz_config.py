"""Fuzz the config loader (issue 12 Deliver 6, the config part), bounded to about 20 s.

Whatever the file holds (random bytes, non-UTF-8, a mutated real config, wrong types
and huge or special numbers at real keys, long strings, deep nesting, alias bombs),
`load_config` returns a Config or raises BadInput (the exit-2 path of `pvledger
check`): never another exception, never a hang. A households file that is not a
registry has nothing of its text in the errors.
"""

from __future__ import annotations

import copy
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.config import load_config
from core.problems import BadInput
from pvledger.cli import main

FUZZ = settings(
    deadline=None,  # timing is the alarm's job below: the machine is shared
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)

#: a small valid config, the seed that structured examples mutate
BASE: dict[str, Any] = {
    "site": {"name": "t", "latitude": 27.1, "longitude": 114.9, "gateway": "gw-1"},
    "storage": {"backend": "sqlite", "path": "data/pv.db"},
    "mqtt": {"host": "127.0.0.1", "port": 1883},
    "villages": [{"id": "dongpi", "name": "东陂村"}],
    "households": [{"id": "hh-1", "name": "张三", "village": "dongpi"}],
    "stations": [
        {
            "id": "s-hh-1",
            "kind": "household",
            "capacity_kw": 3,
            "owner": "hh-1",
            "village": "dongpi",
            "devices": [{"id": "s-hh-1-log", "source": "mqtt", "topic": "pv/dongpi/s-hh-1"}],
        }
    ],
    "tariffs": [
        {
            "id": "t-hh",
            "applies_to": {"kind": "household"},
            "shape": "fixed-subsidy",
            "from": "2018-01-01",
            "components": [{"name": "coal", "yuan_per_kwh": "0.4143", "payer": "grid"}],
        }
    ],
}
BASE_TEXT = yaml.safe_dump(BASE, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    # one folder for every example (a function-scoped tmp_path is not reset between them)
    with tempfile.TemporaryDirectory(prefix="pvledger-fuzz-config-") as d:
        yield Path(d)


@pytest.fixture(scope="module")
def budget_s(folder: Path) -> float:
    """Seconds one example may take: generous against the seed's measured load time."""
    path = folder / "seed.yaml"
    path.write_text(BASE_TEXT, encoding="utf-8")
    started = time.monotonic()
    load_config(path)
    return max(5.0, 200 * (time.monotonic() - started))


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the body runs longer than seconds."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the config loader ran longer than {seconds:.1f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_or_refuse(path: Path, budget_s: float) -> str:
    """Load path; 'ok' or the rendered refusal. Anything else fails the example."""
    with alarm(budget_s):
        try:
            load_config(path)
        except BadInput as exc:
            text = exc.render()
            assert exc.problems and "Traceback" not in text
            return text
    return "ok"


def _write(folder: Path, data: bytes) -> Path:
    path = folder / "config.yaml"
    path.write_bytes(data)
    return path


# -- strategies -----------------------------------------------------------------------

SPECIAL_NUMBERS = st.sampled_from(
    [0, -1, 2**63, -(2**63) - 1, 10**30, 1e308, -1e308, float("inf"), float("nan"), 1e-320]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    SPECIAL_NUMBERS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    # long strings built, not drawn character by character (that is slow to generate)
    st.builds(lambda t, n: t * n, st.text(min_size=1, max_size=8), st.integers(200, 2_000)),
    st.sampled_from(["../../../../../etc/passwd", "/dev/zero", "\x00", "2018-13-45", "0x1F"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of the seed (so a value can be replaced anywhere)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


SEED_PATHS = _paths(BASE)[1:]


def _replace(data: Any, path: tuple, value: Any) -> Any:
    data = copy.deepcopy(data)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


# -- properties -----------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(folder: Path, budget_s: float, data: bytes) -> None:
    load_or_refuse(_write(folder, data), budget_s)


@FUZZ
@given(
    at=st.integers(min_value=0, max_value=len(BASE_TEXT)),
    cut=st.integers(min_value=0, max_value=40),
    insert=st.one_of(
        st.binary(max_size=20),
        st.sampled_from([b"\xff\xfe", b"\xc3", b"\x00", b"&a ", b"*a", b"<<: *a", b"[" * 40]),
        st.text(max_size=20).map(lambda t: t.encode("gbk", "replace")),
    ),
)
def test_mutated_real_config(
    folder: Path, budget_s: float, at: int, cut: int, insert: bytes
) -> None:
    raw = BASE_TEXT.encode("utf-8")
    load_or_refuse(_write(folder, raw[:at] + insert + raw[at + cut :]), budget_s)


@settings(
    FUZZ,
    max_examples=80,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(where=st.sampled_from(SEED_PATHS), value=VALUES)
def test_wrong_values_at_real_keys(
    folder: Path, budget_s: float, capsys: pytest.CaptureFixture, where: tuple, value: Any
) -> None:
    """Any value at any key: refused (or accepted) by the loader, and `pvledger check`
    exits 0 or 2 on it, printing no traceback."""
    text = yaml.safe_dump(_replace(BASE, where, value), allow_unicode=True)
    path = _write(folder, text.encode("utf-8"))
    capsys.readouterr()  # one capture per example (the fixture spans them all)
    with alarm(budget_s):
        code = main(["-c", str(path), "check"])
    out = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in out.err


@settings(FUZZ, max_examples=40)
@given(
    width=st.integers(min_value=2, max_value=12),
    depth=st.integers(min_value=2, max_value=12),
    merge=st.booleans(),
)
def test_alias_bombs(folder: Path, budget_s: float, width: int, depth: int, merge: bool) -> None:
    """Billion laughs in lists or through merge keys: refused or loaded, quickly."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for n in range(1, depth):
        if merge:
            keys = ", ".join(f"k{i}: *l{n - 1}" for i in range(width))
            lines.append(f"l{n}: &l{n} {{<<: {{m: *l{n - 1}}}, {keys}}}")
        else:
            lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * width) + "]")
    text = "site: {name: t, latitude: 1, longitude: 1}\nalerts:\n  rules: []\n  x:\n"
    text += "".join(f"    {line}\n" for line in lines)
    load_or_refuse(_write(folder, text.encode()), budget_s)


@FUZZ
@given(depth=st.integers(min_value=1, max_value=20_000), flow=st.booleans())
def test_deep_nesting(folder: Path, budget_s: float, depth: int, flow: bool) -> None:
    if flow:
        body = "site: " + "[" * depth + "]" * depth + "\n"
    else:
        levels = min(depth, 200)  # past MAX_DEPTH either way; a deeper text only costs the test
        body = "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + "  " * levels + "x\n"
    load_or_refuse(_write(folder, body.encode()), budget_s)


@pytest.mark.parametrize(
    "text",
    [
        "site: &a [*a]\n",  # an alias inside itself
        "site: {latitude: 1" + "0" * 5000 + "}\n",  # past Python's int-digit limit
        "tariffs: [{from: 2018-02-30}]\n",  # a date that does not exist
        "site: {name: t, latitude: 1, longitude: 1, timezone: " + "a/" * 3000 + "x}\n",
        "site: {name: " + "x" * 500_000 + "}\n",
        "? [a, b]\n: c\n",
        "\ufeff" * 3 + "site: 1\n",
        "households: /dev/zero\n",
        "households: " + "../" * 40 + "etc/shadow\n",
    ],
    ids=[
        "self-alias",
        "huge-int",
        "bad-date",
        "long-zone",
        "long-string",
        "list-key",
        "boms",
        "dev-zero",
        "escape",
    ],
)
def test_known_hostile_configs(folder: Path, budget_s: float, text: str) -> None:
    assert load_or_refuse(_write(folder, text.encode()), budget_s) != "ok"


@FUZZ
@given(
    cells=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30),
        min_size=1,
        max_size=6,
    ),
    rows=st.integers(min_value=0, max_value=3),
)
def test_non_registry_households_file_is_not_echoed(
    folder: Path, budget_s: float, cells: list[str], rows: int
) -> None:
    """A households path naming some other file: its text never appears in the errors."""
    marker = "ZQX"  # appears in no message of ours
    line = ",".join(f"{marker}{c.replace(chr(10), ' ')}" for c in cells)
    (folder / "other.txt").write_text((line + "\n") * (1 + rows), encoding="utf-8")
    path = _write(
        folder,
        b"site: {name: t, latitude: 1, longitude: 1}\n"
        b"villages: [{id: dongpi, name: x}]\nhouseholds: other.txt\n",
    )
    out = load_or_refuse(path, budget_s)
    assert out != "ok" and marker not in out
