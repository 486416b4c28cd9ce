"""Write the default config.yaml and registry/households.csv: the Jizhou demo fleet (2018).

19 villages with a 100 kW village array each (two 50 kW inverters over Modbus
TCP and a grid export meter), 202 household 3 kW stations (most through MQTT
data loggers, some over Modbus TCP, some over Modbus RTU), 52 households in 2
PV cooperatives owning their own arrays. Every address points at the simulator
on 127.0.0.1. Names are fictitious (演示 = "demo"). Deterministic: run it again
and the files come out the same.

    python scripts/make_demo_config.py
"""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TOWNS = ["樟山镇", "兴桥镇", "长塘镇", "曲濑镇", "永和镇", "禾埠街道", "白塘街道"]
VILLAGES = [
    ("dongpi", "东陂村"),
    ("shangxi", "上溪村"),
    ("nantang", "南塘村"),
    ("beiling", "北岭村"),
    ("hexia", "河下村"),
    ("zhangjia", "张家村"),
    ("luotian", "罗田村"),
    ("shixia", "石下村"),
    ("xinwu", "新屋村"),
    ("huangsha", "黄沙村"),
    ("qiaotou", "桥头村"),
    ("longgang", "龙岗村"),
    ("songshan", "松山村"),
    ("meipi", "梅陂村"),
    ("taoyuan", "桃源村"),
    ("xiantang", "仙塘村"),
    ("baishi", "白石村"),
    ("fengling", "枫岭村"),
    ("yangfang", "洋坊村"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗"
GIVEN = "一二三四五六七八九十"

N_STATION_HOUSEHOLDS = 202
N_COOP_MEMBERS = 52
N_OVERLAP = 10  # households with a rooftop station that also hold cooperative shares
MODBUS_TCP_HOUSEHOLDS = 20  # households 1..20 read over Modbus TCP
RTU_HOUSEHOLDS = 8  # households 21..28 on one RS485 bus (Modbus RTU)
VILLAGE_PORT0 = 15020
#: the one village array outside the subsidy catalogue (issue 16: the demo's arrears)
OUTSIDE_CATALOGUE = "yangfang"
COOP_PORT0 = 15060
HOUSEHOLD_RTU_BUS = "run/rtu-dongpi"  # the simulator links its pty here


def households() -> list[dict[str, str]]:
    """The household registry rows."""
    total = N_STATION_HOUSEHOLDS + N_COOP_MEMBERS - N_OVERLAP
    rows = []
    for n in range(1, total + 1):
        village = VILLAGES[(n - 1) % len(VILLAGES)][0]
        name = SURNAMES[n % len(SURNAMES)] + "演示" + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]
        rows.append(
            {
                "id": f"hh-{n:04d}",
                "name": name,
                "village": village,
                "card": "红卡" if n % 7 == 0 else "蓝卡",
                "account": demo_account(n),
                "id_number": demo_id_number(n),
            }
        )
    return rows


#: households whose account is not valid, so the demo shows "unpaid: no valid account"
#: (one never given, one with a mistyped digit); both are carried to the next run
NO_ACCOUNT, MISTYPED_ACCOUNT = 13, 29


def demo_account(n: int) -> str:
    """A 19-digit card number with its Luhn digit (fictitious: 621799 is no bank's BIN)."""
    from stdnum import luhn

    if n == NO_ACCOUNT:
        return ""
    body = f"621799{n:012d}"
    card = body + luhn.calc_check_digit(body)
    if n == MISTYPED_ACCOUNT:
        return card[:-1] + str((int(card[-1]) + 1) % 10)
    return card


def demo_id_number(n: int) -> str:
    """A well-formed fictitious ID number: birth date, sequence, check character.

    Region 362401 (吉安市 until 2000): python-stdnum checks that the region code was in
    force at the birth date, and everyone here was born before 吉州区 got 360802.
    """
    from stdnum.cn import ric

    born = f"{1950 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}"
    body = f"362401{born}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def q(s: str) -> str:
    return f'"{s}"'


#: O&M contractors of the demo fleet (运维单位); village i is looked after by CONTRACTORS[i % 3]
CONTRACTORS = [
    ("ct-ganjiang", "赣江光伏运维有限公司"),
    ("ct-luling", "庐陵新能源服务部"),
    ("ct-jinggang", "井冈电力工程公司"),
]
CARETAKER_NAMES = "刘建国 王秀英 李志强 张桂兰 陈国华 杨春生 赵金凤 黄德明 周玉梅 吴海波"


def om_lines(q) -> list[str]:
    """The om: section: deadlines, working hours, contractors and one caretaker a village."""
    out = [
        "om:",
        "  db_path: data/workorders.db",
        "  open_on: {no_output: 0, device_fault: 0, village_outage: 0, comm_lost: 7200}",
        "  deadline_h: {no_output: 48, device_fault: 48, village_outage: 24, comm_lost: 72, "
        "manual: 72}",
        '  working_hours: {start: "08:00", end: "18:00", days: [1, 2, 3, 4, 5, 6]}',
        "  escalate_every_h: 24",
        "  verify_daylight_min: 30",
        "  reopen_daylight_min: 60",
        f"  normal_share_of_peers: {q('60')}",
        "  inspection_every_days: 30",
        "  people:",
    ]
    for i, (cid, name) in enumerate(CONTRACTORS):
        villages = [v for j, (v, _) in enumerate(VILLAGES) if j % len(CONTRACTORS) == i]
        out.append(
            f"    - {{id: {cid}, name: {name}, role: contractor, "
            f"villages: [{', '.join(villages)}]}}"
        )
    names = CARETAKER_NAMES.split()
    for j, (vid, _) in enumerate(VILLAGES):
        cid = CONTRACTORS[j % len(CONTRACTORS)][0]
        out.append(
            f"    - {{id: care-{vid}, name: {names[j % len(names)]}, role: caretaker, "
            f"villages: [{vid}], contractor: {cid}}}"
        )
    return out


#: the years the demo villages have an approved distribution plan for
PLAN_YEARS = range(2024, 2029)


def plan_lines(q) -> list[str]:
    """The `plans:` section: each village's approved plan per year (docs/payments.md).

    Three posts take 3 x 600 x 12 = 21,600 of 36,000 yuan (60 %, the policy's minimum),
    two works of 4,500 in April and September, two awards in June and December to two
    households each: no pool waits more than 5 months for a use.
    """
    n_households = N_STATION_HOUSEHOLDS + N_COOP_MEMBERS - N_OVERLAP
    out = ["plans:"]
    out.append(
        f"  policy: {{min_posts_percent: {q('60')}, max_idle_months: 6, "
        "forbid_equal_handouts: true}"
    )
    out.append("  villages:")
    for y in PLAN_YEARS:
        for i, (vid, name) in enumerate(VILLAGES):
            hh = [f"hh-{n:04d}" for n in range(i + 1, n_households + 1, len(VILLAGES))]
            posts = ", ".join(
                f"{{name: {post}, holder: {h}, yuan_per_month: {q('600.00')}}}"
                for post, h in zip(("保洁员", "护林员", "光伏电站管护员"), hh[:3], strict=True)
            )
            works = ", ".join(
                f"{{name: {work}, approval: {name}项目〔{y}〕{k}号, "
                f"budget_yuan: {q('4500.00')}, month: {month}}}"
                for k, (work, month) in enumerate((("村道修补", 4), ("水渠清淤", 9)), start=1)
            )
            awards = ", ".join(
                f"{{name: {award}, month: {month}, beneficiaries: ["
                + ", ".join(f"{{household: {h}, yuan: {q('300.00')}}}" for h in hh[3:5])
                + "]}"
                for award, month in (("孝老爱亲奖", 6), ("助学补助", 12))
            )
            out += [
                f"    - village: {vid}",
                f"      year: {y}",
                f"      income_yuan: {q('36000.00')}",
                f"      posts: [{posts}]",
                f"      projects: [{works}]",
                f"      awards: [{awards}]",
                f"      approvals: {{assembly: {{date: {y - 1}-12-10, reference: "
                f"{name}村民代表大会决议〔{y - 1}〕12号}}, township: {{date: {y - 1}-12-20, "
                f"reference: 乡镇审核〔{y - 1}〕{i + 1}号}}, county: {{date: {y - 1}-12-28, "
                f"reference: 吉州区备案〔{y - 1}〕{i + 1}号}}}}",
            ]
    return out


def main() -> None:
    hh = households()
    reg = ROOT / "registry" / "households.csv"
    reg.parent.mkdir(exist_ok=True)
    with reg.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(
            f,
            fieldnames=["id", "name", "village", "card", "account", "id_number"],
            lineterminator="\n",
        )
        w.writeheader()
        w.writerows(hh)

    out: list[str] = []
    add = out.append
    add("# pvledger default configuration: the Jizhou (吉州区, Ji'an, Jiangxi) demo fleet, 2018.")
    add("# Generated by scripts/make_demo_config.py; every device is served by `pvledger simulate`")
    add("# on 127.0.0.1. Household names are fictitious. Money and rates are quoted strings.")
    add(
        "site: {name: 吉州区, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98, "
        "gateway: gw-jizhou, language: zh}"
    )
    add("storage: {backend: sqlite, path: data/pvledger.db}")
    add("mqtt: {host: 127.0.0.1, port: 1883, client_id: pvledger-gw-jizhou}")
    add("villages:")
    for i, (vid, name) in enumerate(VILLAGES):
        add(f"  - {{id: {vid}, name: {name}, town: {TOWNS[i % len(TOWNS)]}}}")
    add("households: registry/households.csv")

    members = hh[N_STATION_HOUSEHOLDS - N_OVERLAP :]
    coop1, coop2 = members[:30], members[30:]
    add("cooperatives:")
    add("  - id: coop-hexia")
    add("    name: 河下村光伏扶贫合作社")
    add("    village: hexia")
    add("    members:")
    for k, m in enumerate(coop1):
        add(f"      - {{household: {m['id']}, shares: {1 if k >= 26 else 2}}}")
    add("  - id: coop-luotian")
    add("    name: 罗田村光伏扶贫合作社")
    add("    village: luotian")
    add("    members:")
    for m in coop2:
        add(f"      - {{household: {m['id']}, shares: 2}}")

    add("stations:")
    for i, (vid, _name) in enumerate(VILLAGES):
        port = VILLAGE_PORT0 + i
        add(f"  - id: v-{vid}")
        add("    kind: village")
        add("    capacity_kw: 100")
        add(f"    owner: {vid}")
        add(f"    village: {vid}")
        add("    commissioned: 2018-06-30")
        if vid == OUTSIDE_CATALOGUE:
            add("    subsidy_catalogue: false   # not in the 补贴目录: earns the coal part only")
        add("    devices:")
        add(
            f"      - {{id: v-{vid}-inv1, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
            "unit: 1, map: sunspec, simulate: sunspec-inverter-50kw, interval_s: 30}"
        )
        add(
            f"      - {{id: v-{vid}-inv2, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
            "unit: 2, map: huawei-sun2000, simulate: huawei-inverter-50kw, interval_s: 30}"
        )
        add(
            f"      - {{id: v-{vid}-meter, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
            "unit: 10, role: meter, map: dtsu666, simulate: dtsu666-meter, interval_s: 60}"
        )
    for k, (cid, vid, kw, nshares) in enumerate(
        [("coop-hexia", "hexia", 56, 56), ("coop-luotian", "luotian", 44, 44)]
    ):
        port = COOP_PORT0 + k
        add(f"  - id: c-{vid}")
        add("    kind: cooperative")
        add(f"    capacity_kw: {kw}   # 1 share = 1 kW ({nshares} shares)")
        add(f"    owner: {cid}")
        add(f"    village: {vid}")
        add("    devices:")
        add(
            f"      - {{id: c-{vid}-inv1, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
            f"unit: 1, map: sunspec, simulate: sunspec-inverter-{kw}kw, interval_s: 30}}"
        )
        add(
            f"      - {{id: c-{vid}-meter, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
            "unit: 10, role: meter, map: dtsu666, simulate: dtsu666-meter, interval_s: 60}"
        )
    for n in range(1, N_STATION_HOUSEHOLDS + 1):
        h = hh[n - 1]
        vid = h["village"]
        vi = [v for v, _ in VILLAGES].index(vid)
        add(
            f"  - {{id: s-{h['id']}, kind: household, capacity_kw: 3, owner: {h['id']}, "
            f"village: {vid},"
        )
        if n <= MODBUS_TCP_HOUSEHOLDS:
            dev = (
                f"{{id: s-{h['id']}-inv, source: modbus-tcp, host: 127.0.0.1, "
                f"port: {VILLAGE_PORT0 + vi}, unit: {20 + n}, map: sunspec, "
                "simulate: sunspec-inverter-3kw, interval_s: 60}"
            )
        elif n <= MODBUS_TCP_HOUSEHOLDS + RTU_HOUSEHOLDS:
            unit = n - MODBUS_TCP_HOUSEHOLDS
            dev = (
                f"{{id: s-{h['id']}-inv, source: modbus-rtu, port: {HOUSEHOLD_RTU_BUS}, "
                f"baud: 9600, unit: {unit}, map: huawei-sun2000, "
                "simulate: huawei-inverter-3kw, interval_s: 60}"
            )
        else:
            dev = (
                f"{{id: s-{h['id']}-log, source: mqtt, topic: pv/{vid}/s-{h['id']}, "
                "decoder: json, simulate: mqtt-logger-3kw, interval_s: 60}"
            )
        add(f"     devices: [{dev}]}}")

    add("tariffs:")
    for kind in ("village", "household", "cooperative"):
        add(f"  - id: {kind}-2018")
        add(f"    applies_to: {{kind: {kind}}}")
        add("    shape: benchmark-total      # 2018 poverty price kept: total 0.85 in zone III")
        add("    from: 2018-01-01")
        add(f"    total_yuan_per_kwh: {q('0.85')}")
        add("    components:")
        add(
            f"      - {{name: coal_benchmark, yuan_per_kwh: {q('0.4143')}, payer: grid, "
            "cycle: monthly}"
        )
        add(
            "      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund, "
            "cycle: annual, subsidy: true}"
        )

    add("allocation:")
    add("  household:")
    add("    - from: 2018-01-01")
    add("      approval: 吉州区扶贫办〔2018〕演示12号")
    add("      withholdings:")
    for n in (3, 17, 44):
        add(
            f"        - {{household: hh-{n:04d}, name: loan_interest, "
            f"yuan_per_month: {q('30.00')}, reference: 演示贷款-{n:04d}}}"
        )
    add("  cooperative:")
    add("    - from: 2018-01-01")
    add("      approval: 合作社成员大会决议 演示2018-01")
    add("      deductions:")
    add(f"        - {{name: om, percent: {q('2.9')}}}")
    add(f"        - {{name: reserve, percent: {q('5')}}}")
    add("      residue_to: reserve")
    add("  village:")
    add("    - from: 2018-01-01")
    add("      approval: 村民代表大会 / 乡镇审核 / 区备案 演示2018")
    add("      deductions:")
    add(f"        - {{name: om, percent: {q('2.9')}}}")
    add(f"        - {{name: reserve, percent: {q('2')}}}")
    add(f"        - {{name: insurance, yuan_per_month: {q('25.00')}}}")
    add(f"        - {{name: land_rent, yuan_per_month: {q('125.00')}}}")
    add("      pools:")
    add(f"        - {{name: jobs, percent: {q('60')}}}")
    add(f"        - {{name: projects, percent: {q('25')}}}")
    add("        - {name: awards, remainder: true}")
    add("      jobs_pool: jobs")
    for line in plan_lines(q):
        add(line)

    for line in om_lines(q):
        add(line)
    add("alerts:")
    add("  language: zh")
    add("  rules:")
    # silence counts from sunrise + 30 min (loggers wake with the light) to sunset
    add("    - {kind: comm_lost, for_s: 1800, window_margin_s: 1800}")
    # 45 min of zero + at most one poll and one evaluation (5 min each): told within the hour
    add(f"    - {{kind: no_output, for_s: 2700, peer_min_share: {q('20')}}}")
    add(f"    - {{kind: low_performance, peer_median_share: {q('60')}, days: 3}}")
    add("    - {kind: device_fault, for_s: 0}")
    add("    - {kind: counter_anomaly, for_s: 0}")
    # a grid outage drops inverters to exactly 0 W (anti-islanding); a dark local cloud
    # leaves ~1 % of nameplate: a tight zero keeps the two apart
    add(f"    - {{kind: village_outage, for_s: 900, zero_power_share: {q('0.2')}}}")
    add("    - {kind: gateway_silent, for_s: 1800, window_margin_s: 1800}")
    # revenue (county, evaluated once a day by `alerts watch`; docs/revenue.md)
    add(f"    - {{kind: meter_mismatch, tolerance_percent: {q('5')}}}")
    add("    - {kind: statement_missing, after_days: 45}")
    add("    - {kind: receivable_overdue, coal_benchmark_days: 30, national_subsidy_days: 365}")
    add(f"    - {{kind: idle_funds, above_yuan: {q('10000.00')}, days: 90}}")
    add("  notify:")
    add("    - {type: mqtt, topic: pvledger/alerts}")
    # the banks final runs are paid through (docs/payments.md); fictitious accounts
    add("payments:")
    add("  bank: rcc-jizhou")
    add("  banks:")
    add(
        "    - {id: rcc-jizhou, template: county-agri-xlsx, payer_name: 吉州区乡村振兴局, "
        f"payer_account: {q('3624010099990001')}, purpose: 光伏扶贫收益}}"
    )
    add(
        "    - {id: generic, template: generic-csv, payer_name: 吉州区乡村振兴局, "
        f"payer_account: {q('3624010099990001')}}}"
    )
    (ROOT / "config.yaml").write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
