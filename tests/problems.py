"""Case folders of refused configs: expected.txt against what a command printed."""

from __future__ import annotations

from pathlib import Path


def assert_expected_problems(case: Path, code: int, out: str, err: str) -> None:
    """expected.txt is ``problems: N`` then lines that must each appear in err; the
    command exited 2, printed nothing on stdout and listed exactly N problems."""
    head, *wanted = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert code == 2, out
    assert out == ""
    n = int(head.removeprefix("problems: "))
    assert f": {n} problem" in err.splitlines()[0], err
    missing = [w for w in wanted if w and w not in err]
    assert not missing, f"not in output: {missing}\n{err}"
    # every problem names its place: a key path and, for files, file:line
    assert len([line for line in err.splitlines() if line.startswith("  - ")]) == n
