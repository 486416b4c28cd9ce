"""Parsing the demo config: load_config and `pvledger check`, against `python -c pass`.

    python3 benchmarks/config_parse.py [--runs 5] [--before TREE]

Each figure is the median of --runs fresh processes (wall and CPU of the child),
beside the anchor `python -c pass` measured in the same run, with the load average.
--before TREE times another source tree the same way, interleaved run by run
(e.g. `git archive <commit> | tar -x -C TREE`), so before and after share the
machine's load. load_yaml (the YAML part: parse, lines, bounds) and load_config
(all of it) are timed inside the process, imports excluded; the check is the
whole command as a user runs it. Every child must succeed (the check exits 0 on
the shipped config) and both trees must read the same fleet, so a broken tree
cannot pass for a fast one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: the YAML part alone: parse, lines, duplicate keys and the hostile-input bounds
YAML = (
    "import time\n"
    "from pathlib import Path\n"
    "from core.config.yamlsrc import load_yaml\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "src, problems = load_yaml(Path('config.yaml'))\n"
    "assert not problems and src.data['stations']\n"
    "print(time.perf_counter() - t, time.process_time() - c)\n"
)
LOAD = (
    "import time\n"
    "from core.config import load_config\n"
    "t, c = time.perf_counter(), time.process_time()\n"
    "cfg = load_config('config.yaml')\n"
    "print(time.perf_counter() - t, time.process_time() - c, len(cfg.device_index))\n"
)
CHECK = (
    "import sys\n"
    "from pvledger.cli import main\n"
    "sys.exit(main(['-q', '-c', 'config.yaml', 'check']))\n"
)


def child(tree: Path, code: str) -> tuple[float, float, str]:
    """(wall s, CPU s, stdout) of one fresh interpreter running code in tree."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = os.times()
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu, out.stdout


def main() -> None:
    """Print the medians and ratios to the anchor."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--before", type=Path, help="another source tree, timed alongside")
    args = ap.parse_args()
    trees = {"": ROOT} if args.before is None else {" before": args.before, " after": ROOT}
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    loads = []

    def note(key: str, w: float, c: float) -> None:
        wall.setdefault(key, []).append(w)
        cpu.setdefault(key, []).append(c)

    devices = set()
    for _ in range(args.runs):
        loads.append(os.getloadavg()[0])
        note("python -c pass", *child(ROOT, "pass")[:2])
        for label, tree in trees.items():
            w, c = child(tree, YAML)[2].split()
            note(f"load_yaml{label}", float(w), float(c))
            w, c, n = child(tree, LOAD)[2].split()
            devices.add(int(n))
            note(f"load_config{label}", float(w), float(c))
            note(f"pvledger check{label}", *child(tree, CHECK)[:2])
    assert len(devices) == 1, f"the trees read different fleets: {devices} devices"
    med_w = {k: statistics.median(v) for k, v in wall.items()}
    med_c = {k: statistics.median(v) for k, v in cpu.items()}
    anchor_w, anchor_c = med_w["python -c pass"], med_c["python -c pass"]
    print(f"config.yaml, {devices.pop()} devices; median of {args.runs}; load average "
          f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'':24} {'wall ms':>8} {'x anchor':>8} {'CPU ms':>8} {'x anchor':>8}")
    for key in wall:
        print(
            f"{key:24} {med_w[key] * 1e3:8.0f} {med_w[key] / anchor_w:8.1f}"
            f" {med_c[key] * 1e3:8.0f} {med_c[key] / anchor_c:8.1f}"
        )
    if args.before is not None:
        for what in ("load_yaml", "load_config", "pvledger check"):
            b, a = f"{what} before", f"{what} after"
            print(
                f"{what}: {med_w[b] / med_w[a]:.1f}x faster (wall), "
                f"{med_c[b] / med_c[a]:.1f}x (CPU)"
            )


if __name__ == "__main__":
    main()
