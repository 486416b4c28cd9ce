"""Village distribution plans: policy violations, the approval gate, a month's pool uses.

The worked example is DOMAIN.md's 100 kW village in July (12,390 kWh exported), with a
plan paying two posts, one small work and one award from its three pools.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import load_config
from core.config.allocation import VillageRule
from core.problems import BadInput
from pvledger.cli import main
from revenue import allocate as al
from revenue.energy import ImportedMeter
from revenue.export import tables
from revenue.ledger import Ledger
from revenue.payout import payout
from revenue.period import parse_period
from revenue.plans import PlanUse, unapproved, violations
from revenue.run import compute

JULY = parse_period("2026-07")

BASE = """
site: {name: 测试县, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98}
storage: {backend: sqlite, path: data/store.db}
villages:
  - {id: dongpi, name: 东陂村}
  - {id: shangxi, name: 上溪村}
households:
  - {id: hh-1, name: 张三华, village: dongpi}
  - {id: hh-2, name: 李四, village: dongpi}
  - {id: hh-3, name: 王五, village: dongpi}
  - {id: hh-4, name: 赵六, village: shangxi}
stations:
  - id: v-dongpi
    kind: village
    capacity_kw: 100
    owner: dongpi
    village: dongpi
    devices:
      - {id: v-dongpi-meter, source: modbus-tcp, host: 127.0.0.1, port: 15020, unit: 10,
         role: meter, map: dtsu666}
tariffs:
  - id: village-2018
    applies_to: {kind: village}
    shape: benchmark-total
    from: 2018-01-01
    total_yuan_per_kwh: "0.85"
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid}
      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund,
         cycle: annual, subsidy: true}
allocation:
  village:
    - from: 2018-01-01
      approval: 测试县扶贫办〔2026〕1号
      deductions:
        - {name: om, percent: "2.9"}
        - {name: reserve, percent: "2"}
        - {name: insurance, yuan_per_month: "25.00"}
        - {name: land_rent, yuan_per_month: "125.00"}
      pools:
        - {name: jobs, percent: "60"}
        - {name: projects, percent: "25"}
        - {name: awards, remainder: true}
      jobs_pool: jobs
"""

#: a plan keeping the policy: posts 2 x 500 x 12 = 12,000 of 20,000 yuan (60 %)
GOOD_PLAN = {
    "village": "dongpi",
    "year": 2026,
    "income_yuan": "20000.00",
    "posts": [
        {"name": "保洁员", "holder": "hh-1", "yuan_per_month": "500.00"},
        {"name": "护林员", "holder": "hh-2", "yuan_per_month": "500.00"},
    ],
    "projects": [
        {
            "name": "村道修补",
            "approval": "东陂项目〔2026〕1号",
            "budget_yuan": "1500.00",
            "month": 7,
        },
    ],
    "awards": [
        {
            "name": "孝老爱亲奖",
            "month": 7,
            "beneficiaries": [{"household": "hh-3", "yuan": "200.00"}],
        },
    ],
    "approvals": {
        "assembly": {"date": "2025-12-10", "reference": "东陂村民代表大会决议〔2025〕12号"},
        "township": {"date": "2025-12-20", "reference": "乡镇审核〔2025〕1号"},
        "county": {"date": "2025-12-28", "reference": "吉州区备案〔2025〕1号"},
    },
}


def _config(tmp: Path, *plans: dict, policy: dict | None = None, extra: str = ""):
    section = {"policy": policy or {}, "villages": list(plans)}
    text = BASE + extra + yaml.safe_dump({"plans": section}, allow_unicode=True)
    # safe_dump writes the money strings quoted and the dates as strings: YAML reads them back
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _plan(**changes) -> dict:
    import copy

    p = copy.deepcopy(GOOD_PLAN)
    p.update(changes)
    return p


def _july(cfg, carried: dict[str, int]):
    imported = ImportedMeter(statements={("v-dongpi", "2026-07"): 12_390_000})
    return compute(cfg, None, JULY, imported=imported, carried_in=carried)


def test_worked_example_of_a_month_in_the_pools(tmp_path: Path):
    """DOMAIN.md: distributable 4,731.66 -> jobs 2,839.00, projects 1,182.92, awards 709.74.

    jobs:     carried in 100.00 + 2,839.00 - posts 500.00 - 500.00      = 1,939.00 carried
    projects: carried in 400.00 + 1,182.92 - 村道修补 1,500.00           =    82.92 carried
    awards:   carried in   0.00 +   709.74 - 孝老爱亲奖 200.00 (hh-3)   =   509.74 carried
    """
    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    r = _july(cfg, {"dongpi": 10_000, "dongpi/projects": 40_000})
    assert r.ok, [c for c in r.checks if not c.ok]
    assert r.stations[0].distributable_fen == 473_166
    pools = {p.pool: p for p in r.pools}
    got = {k: (p.carried_in_fen, p.amount_fen, p.paid_fen, p.balance_fen) for k, p in pools.items()}
    assert got == {
        "jobs": (10_000, 283_900, 100_000, 193_900),
        "projects": (40_000, 118_292, 150_000, 8_292),
        "awards": (0, 70_974, 20_000, 50_974),
    }
    wages = sorted((p.household, p.source, p.amount_fen) for p in r.payouts if p.kind == "post")
    assert wages == [("hh-1", "post wage", 50_000), ("hh-2", "post wage", 50_000)]
    assert [u.line for u in pools["projects"].uses] == ["projects[0] 村道修补"]
    # the remainders carry to the next run
    assert r.state["jobs_balance_fen"] == {"dongpi": 193_900}
    assert r.state["pool_balance_fen"] == {"dongpi/projects": 8_292, "dongpi/awards": 50_974}
    lines = tables(cfg, r)["plan-lines"]
    assert [(x["plan_line"], x["amount_yuan"], x["paid"]) for x in lines] == [
        ("posts[0] 保洁员", "500.00", "yes"),
        ("posts[1] 护林员", "500.00", "yes"),
        ("projects[0] 村道修补", "1500.00", "yes"),
        ("awards[0] 孝老爱亲奖", "200.00", "yes"),
    ]


def test_a_pool_too_small_leaves_the_line_unpaid_whole(tmp_path: Path):
    """Nothing carried in: projects 1,182.92 < 1,500.00, the work waits; the posts are paid."""
    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    r = _july(cfg, {})
    assert r.ok, [c for c in r.checks if not c.ok]
    projects = next(p for p in r.pools if p.pool == "projects")
    assert (projects.paid_fen, projects.balance_fen) == (0, 118_292)
    assert [u.paid for u in projects.uses] == [False]
    assert "short by 150000 fen" in projects.flags


def test_a_clean_plan_has_no_violation(tmp_path: Path):
    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    assert violations(cfg) == []
    assert main(["-c", str(tmp_path / "config.yaml"), "plans", "check"]) == 0


def test_every_violation_found_with_its_village_and_line(tmp_path: Path, capsys):
    bad = _plan(
        income_yuan="30000.00",  # posts 12,000 = 40 % < 60 %
        posts=[
            {"name": "保洁员", "holder": "hh-1", "yuan_per_month": "500.00"},
            {"name": "护林员", "holder": "hh-4", "yuan_per_month": "500.00"},  # of shangxi
        ],
        projects=[  # the only project use in December: projects idle Jan..Nov
            {"name": "村道修补", "approval": "A1", "budget_yuan": "1500.00", "month": 12},
        ],
        awards=[
            {
                "name": "过节费",
                "month": 7,
                "beneficiaries": [  # every household the same
                    {"household": h, "yuan": "100.00"} for h in ("hh-1", "hh-2", "hh-3")
                ],
            },
            {
                "name": "助学",
                "month": 6,
                "pool": "schooling",  # no such pool
                "beneficiaries": [{"household": "hh-3", "yuan": "100.00"}],
            },
        ],
    )
    bad["approvals"]["township"] = {"date": "2025-12-01", "reference": ""}  # before assembly
    other = _plan(village="shangxi", income_yuan="1000.00", posts=[], projects=[], awards=[])
    other["approvals"] = {}
    cfg = load_config(_config(tmp_path, bad, other))
    got = [(v.village, v.year, v.line, v.message) for v in violations(cfg)]

    def found(village: str, line: str, pattern: str) -> None:
        assert any(v == village and ln == line and re.search(pattern, m) for v, _, ln, m in got), (
            village,
            line,
            pattern,
            got,
        )

    found("dongpi", "posts", r"12000\.00 yuan are 40\.0 % of the income 30000\.00.*60 %")
    found("dongpi", "posts[1] 护林员", "holder hh-4 is not a household of dongpi")
    found("dongpi", "awards[0] 过节费", "every household of dongpi the same 100.00 yuan")
    found("dongpi", "awards[1] 助学", "pool 'schooling'")
    found("dongpi", "pool projects", "no use planned for 11 months from 2026-01")
    found("dongpi", "approvals.township", "no reference")
    found("dongpi", "approvals.township", "before the step ahead of it")
    for step in ("assembly", "township", "county"):
        found("shangxi", f"approvals.{step}", "no date")
    found("shangxi", "posts", "0 yuan are 0.0 %")
    found("shangxi", "pool jobs", "no use planned for 12 months")
    assert {v for v, *_ in got} == {"dongpi", "shangxi"}
    assert not any(ln.startswith("awards[1]") and "same" in m for _, _, ln, m in got)

    path = str(tmp_path / "config.yaml")
    assert main(["-c", path, "plans", "check", "--year", "2026"]) == 1
    out = capsys.readouterr().out
    assert "dongpi 2026 awards[0] 过节费: gives every household" in out
    assert f"{len(got)} violations in 2 plans" in out
    assert main(["-c", path, "plans", "check", "--year", "2025"]) == 0
    assert main(["-c", path, "check"]) == 1  # `pvledger check` includes the plan checks
    assert "shangxi 2026 approvals.county: no date" in capsys.readouterr().out


def test_equal_amounts_to_some_households_only_are_not_a_handout(tmp_path: Path):
    two = _plan(awards=[{"name": "助学", "month": 7, "beneficiaries": [
        {"household": h, "yuan": "100.00"} for h in ("hh-1", "hh-2")]}])  # fmt: skip
    assert violations(load_config(_config(tmp_path, two))) == []
    off = _plan(awards=[{"name": "过节费", "month": 7, "beneficiaries": [
        {"household": h, "yuan": "100.00"} for h in ("hh-1", "hh-2", "hh-3")]}])  # fmt: skip
    cfg = load_config(_config(tmp_path, off, policy={"forbid_equal_handouts": False}))
    assert violations(cfg) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"county": {"date": None, "reference": "x"}}, "approvals.county: no date"),
        ({"township": {"date": "2025-12-20", "reference": " "}}, "approvals.township: no ref"),
        # approved on the period's first day: not *before* the period
        ({"county": {"date": "2026-07-01", "reference": "x"}}, "not before 2026-07-01"),
    ],
)
def test_an_unapproved_plan_blocks_the_final_run(tmp_path: Path, change: dict, why: str):
    plan = _plan()
    plan["approvals"] = {**plan["approvals"], **change}
    cfg = load_config(_config(tmp_path, plan))
    assert any(v == "dongpi" and why in w for v, w in unapproved(cfg, JULY)), unapproved(cfg, JULY)
    with Ledger(tmp_path / "revenue.db") as led:
        with pytest.raises(BadInput) as exc:
            payout(cfg, None, JULY, out_dir=tmp_path / "out", final=True, ledger=led)
        assert led.effective_final(JULY.id) is None
    text = str(exc.value)
    assert "plans: village dongpi" in text and why in text and "blocked" in text
    assert not (tmp_path / "out").exists()


def test_no_plan_for_the_year_blocks_too_and_the_approved_one_passes(tmp_path: Path):
    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    assert unapproved(cfg, JULY) == []
    assert unapproved(cfg, parse_period("2027-01")) == [("dongpi", "no distribution plan for 2027")]
    # a quarter inside the year needs only that year's plan
    assert unapproved(cfg, parse_period("2026Q4")) == []


@pytest.mark.parametrize(
    ("plan", "extra", "where", "message"),
    [
        (_plan(posts=[{"name": "保洁员", "holder": "hh-9", "yuan_per_month": "500.00"}]), "",
         "plans.villages[0].posts[0].holder", "unknown household 'hh-9'"),
        (_plan(village="nowhere"), "", "plans.villages[0].village", "unknown village"),
        (_plan(posts=[{"name": "保洁员", "holder": "hh-1", "yuan_per_month": "500.00",
                       "from_month": 7, "months": 7}]), "",
         "plans.villages[0].posts[0]", "runs past December"),
        (GOOD_PLAN,
         "      posts:\n        - {village: dongpi, name: 保洁员, yuan_per_month: \"500.00\"}\n",
         "allocation.village[0].posts[0]", "posts come from the plan only"),
    ],
)  # fmt: skip
def test_bad_plan_config_exits_2_naming_the_key(tmp_path, capsys, plan, extra, where, message):
    path = _config(tmp_path, plan, extra=extra)
    with pytest.raises(BadInput) as exc:
        load_config(path)
    text = str(exc.value)
    assert where in text and message in text, text
    assert main(["-c", str(path), "plans", "check"]) == 2


def test_a_float_wage_is_refused(tmp_path: Path):
    path = _config(tmp_path, GOOD_PLAN)
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "yuan_per_month: '500.00'", "yuan_per_month: 500.5"
        ),
        encoding="utf-8",
    )
    with pytest.raises(BadInput, match=r"plans\.villages\[0\]\.posts\[0\]\.yuan_per_month"):
        load_config(path)


def test_a_run_spanning_two_plans_pays_each_months_lines(tmp_path: Path):
    """A quarter Oct..Dec: posts 3 months x 2 x 500.00 = 3,000.00 from the jobs pool."""
    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    imported = ImportedMeter(
        statements={("v-dongpi", m): 12_390_000 for m in ("2026-10", "2026-11", "2026-12")}
    )
    r = compute(cfg, None, parse_period("2026Q4"), imported=imported, carried_in={})
    assert r.ok, [c for c in r.checks if not c.ok]
    wages = {p.household: p.amount_fen for p in r.payouts if p.kind == "post"}
    assert wages == {"hh-1": 150_000, "hh-2": 150_000}


USE_KINDS = st.sampled_from(["post", "project", "award"])


@settings(max_examples=300, deadline=None)
@given(
    distributable=st.integers(0, 10_000_000),
    carried=st.dictionaries(st.sampled_from(["jobs", "projects", "awards"]),
                            st.integers(0, 5_000_000)),
    uses=st.lists(
        st.tuples(st.sampled_from(["jobs", "projects", "awards"]), USE_KINDS,
                  st.integers(0, 3_000_000), st.sampled_from(["hh-1", "hh-2", "hh-3"])),
        max_size=12,
    ),
)  # fmt: skip
def test_pool_uses_plus_remainder_equal_income_plus_carried_in(distributable, carried, uses):
    rule = VillageRule.model_validate(
        {"from": "2018-01-01", "pools": [
            {"name": "jobs", "percent": "60"}, {"name": "projects", "percent": "25"},
            {"name": "awards", "remainder": True}]}
    )  # fmt: skip
    plan_uses = [
        PlanUse(pool, kind, f"{kind}s[{i}] x", "2026-07", fen, hh if kind == "post" else "")
        for i, (pool, kind, fen, hh) in enumerate(uses)
    ]
    jobs_in = carried.get("jobs", 0)
    payouts, pools = al.village(
        "dongpi", distributable, rule, 1, jobs_in, {}, plan_uses,
        {k: v for k, v in carried.items() if k != "jobs"},
    )  # fmt: skip
    paid = sum(u.amount_fen for p in pools for u in p.uses if u.paid)
    remainder = sum(p.balance_fen for p in pools)
    assert paid + remainder == distributable + sum(carried.values())
    for p in pools:
        assert p.carried_in_fen + p.amount_fen == p.paid_fen + p.balance_fen
        assert p.balance_fen >= 0
        # a use is left unpaid only when the balance could not cover it
        for u in p.uses:
            assert u.paid or u.amount_fen > 0
    wage_lines = sum(x.amount_fen for x in payouts if x.kind == "post")
    assert wage_lines == sum(
        u.amount_fen for p in pools for u in p.uses if u.paid and u.kind == "post"
    )


def test_the_inputs_hash_covers_the_plans_of_the_period_only(tmp_path: Path):
    base = _july(load_config(_config(tmp_path, GOOD_PLAN)), {}).inputs_hash
    later = _plan(year=2027)
    assert _july(load_config(_config(tmp_path, GOOD_PLAN, later)), {}).inputs_hash == base
    dearer = _plan(income_yuan="20000.00", posts=[
        {"name": "保洁员", "holder": "hh-1", "yuan_per_month": "600.00"}])  # fmt: skip
    assert _july(load_config(_config(tmp_path, dearer)), {}).inputs_hash != base


def test_a_pool_unused_beyond_the_policy_is_found_in_the_final_runs(tmp_path: Path):
    """July pays all three pools; August..December pay only posts (jobs): projects and
    awards only grow, 5 months unused > 3 allowed; the jobs pool pays every month. (With
    nothing carried into projects, July's work would stay unpaid: 6 months.)"""
    from revenue.diff import amounts
    from revenue.plans import idle_pools

    cfg = load_config(_config(tmp_path, GOOD_PLAN))
    history, carried = [], {"dongpi/projects": 40_000}  # July's work is paid (worked example)
    for m in ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11", "2026-12"):
        period = parse_period(m)
        imported = ImportedMeter(statements={("v-dongpi", m): 12_390_000})
        r = compute(cfg, None, period, imported=imported, carried_in=carried)
        assert r.ok, [c for c in r.checks if not c.ok]
        history.append((period, {**r.state, "amounts": amounts(r)}))
        carried = {**r.state["jobs_balance_fen"], **r.state["pool_balance_fen"]}
    found = idle_pools(history, lambda v, p: "jobs", 3)
    assert [(v.village, v.line) for v in found] == [
        ("dongpi", "pool awards"),
        ("dongpi", "pool projects"),
    ]
    awards = carried["dongpi/awards"]
    assert f"balance {awards // 100}.{awards % 100:02d} yuan unused for 5 months since 2026-08" in (
        found[0].message
    )
    assert idle_pools(history, lambda v, p: "jobs", 5) == []  # 5 months are allowed
    assert idle_pools(history[:1], lambda v, p: "jobs", 0) == []  # July paid from each


def test_final_runs_by_the_cli_and_plans_check_reads_their_balances(tmp_path: Path, capsys):
    """Statements imported, July..December finalized through the approval gate; with
    max_idle_months 3 (the plan itself then breaks it too) the ledger's idle pools are
    listed by `plans check`."""
    path = _config(tmp_path, GOOD_PLAN)
    cfg = str(path)
    rows = ["station_id,period,export_kwh"] + [f"v-dongpi,2026-{m:02d},12390" for m in range(7, 13)]
    (tmp_path / "statements.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["-c", cfg, "import-meter", str(tmp_path / "statements.csv")]) == 0
    for m in range(7, 13):
        out = str(tmp_path / "out" / f"{m}")
        assert main(["-c", cfg, "revenue", "--period", f"2026-{m:02d}", "--final",
                     "--out", out]) == 0  # fmt: skip
    lines = (tmp_path / "out" / "7" / "plan-lines-2026-07.csv").read_text(encoding="utf-8-sig")
    assert "projects[0] 村道修补" in lines  # unpaid in July: nothing carried in, 1,182.92
    capsys.readouterr()
    text = path.read_text(encoding="utf-8").replace("policy: {}", "policy: {max_idle_months: 3}")
    path.write_text(text, encoding="utf-8")
    assert main(["-c", cfg, "plans", "check"]) == 1
    out = capsys.readouterr().out
    # the ledger: projects paid nothing July..December (6 months), awards since August
    assert "dongpi 2026 pool projects: balance" in out and "6 months since 2026-07" in out
    assert "5 months since 2026-08" in out
