"""The report summary and the correction diff come from results, and agree with the files."""

from __future__ import annotations

from core.config import load_config
from revenue import diff as rdiff
from revenue.energy import ImportedMeter
from revenue.export import mask_name, render
from revenue.period import parse_period
from revenue.run import compute
from revenue.summary import result_summary
from tests.revenue.helpers import CASES, read_csv

AUGUST = parse_period("2026-08")


def _run(energy_wh: dict[str, int]):
    cfg = load_config(CASES / "several-schemes" / "config.yaml")
    imported = ImportedMeter(statements={(s, "2026-08"): wh for s, wh in energy_wh.items()})
    return cfg, compute(cfg, None, AUGUST, imported=imported)


BASE = {"v-dongpi": 12_000_000, "s-hh-1": 350_000, "s-hh-2": 300_000, "c-a": 1_200_000}


def test_summary_matches_the_exported_tables():
    cfg, r = _run(BASE)
    files = render(cfg, r)
    s = result_summary(cfg, r, top=2)
    vname = {v.id: v.name for v in cfg.villages}
    villages = read_csv(files["villages-2026-08.csv"])
    assert s.pools == tuple(
        (vname[x["village_id"]], x["pool"], int(x["amount_fen"])) for x in villages
    )
    coops = read_csv(files["cooperatives-2026-08.csv"])
    assert s.cooperatives == tuple(
        (
            c["cooperative_id"],
            int(c["distributable_fen"]),
            int(c["paid_fen"]),
            int(c["residue_fen"]),
        )
        for c in coops
    )
    hh = sorted(
        read_csv(files["households-2026-08.csv"]),
        key=lambda x: (-int(x["amount_fen"]), x["household_id"]),
    )
    assert len(hh) == 3 and len(s.top_households) == 2
    assert s.top_households == tuple(
        (
            mask_name(cfg.household_by_id[x["household_id"]].name),
            vname[x["village_id"]],
            int(x["amount_fen"]),
        )
        for x in hh[:2]
    )


def test_diff_of_two_results_names_exactly_the_changed_lines():
    _, a = _run(BASE)
    _, b = _run({**BASE, "s-hh-2": 310_000})  # one household station earns more
    changes = rdiff.diff(rdiff.amounts(a), rdiff.amounts(b))
    got = {(c["table"], c["key"]) for c in changes}
    assert got == {("stations", "s-hh-2"), ("households", "hh-2")}
    for c in changes:
        assert c["difference_fen"] == c["new_fen"] - c["old_fen"] > 0
    assert rdiff.diff(rdiff.amounts(a), rdiff.amounts(a)) == []
