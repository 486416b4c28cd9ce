"""village_outage 全村停发: every station of a village at zero or silent at once, in
daylight, while the other villages produce (a grid outage on the village feeder).

One incident for the village: the station kinds of its stations are held under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from alerts.signals import Condition, peer_share, silence_grace_s, zero_since
from alerts.state import Alert, Finding
from alerts.wording import minutes
from core.config import Config
from core.config.alerts import MarginS, RuleBase, Share

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A whole village at zero (fleet-wide rule only)."""

    kind: Literal["village_outage"]
    #: power at or below this share of capacity counts as zero [%]
    zero_power_share: Share = Decimal("1")
    #: only inside sunrise + margin .. sunset - margin [s]
    window_margin_s: MarginS = 3600
    #: the other villages must produce at least this share of their clear-sky
    #: expectation [%]
    peer_min_share: Share = Decimal("20")
    #: clear-sky output must be at least this share of nameplate [%]
    clear_sky_min_share: Share = Decimal("30")


NAMES = {
    "zh": "全村电站同时停发(疑似电网停电)",
    "en": "whole village at zero (grid outage suspected)",
}
SUPPRESSED_BY = {"gateway_silent": "gateway"}
LOSS = "village"


def lookback_s(rule: Rule) -> float:
    """The outage must be seen for for_s, with half an hour to spare [s]."""
    return rule.for_s + 1800


def condition(
    down_since: Mapping[str, int | None],
    *,
    now_ms: int,
    window: tuple[int, int],
    reporting: int,
    outside_share: float | None,
    min_share: float,
    clear_sky_share: float,
    min_clear_sky_share: float,
) -> Condition | None:
    """Every station of a village at zero (or silent) at once, in daylight, while it
    should produce.

    down_since: per station of the village, since when it is at zero or silent
    [ms] (None = producing). reporting: how many of them still send readings (at
    least one must: a village where everything is silent is a comms problem).
    outside_share: the rest of the fleet's output / clear-sky expectation (None
    when there is no other village); it must be at least min_share, so a storm
    over the whole district is not an outage. The clear-sky output must be at
    least min_clear_sky_share of nameplate.
    """
    lo, hi = window
    if len(down_since) < 2 or not (lo <= now_ms <= hi) or reporting < 1:
        return None
    if any(t is None for t in down_since.values()):
        return None
    if clear_sky_share < min_clear_sky_share:
        return None
    if outside_share is not None and outside_share < min_share:
        return None
    since = max(max(t for t in down_since.values() if t is not None), lo)
    seen: dict[str, Any] = {"stations": len(down_since), "reporting": reporting}
    if outside_share is not None:
        seen["outside_share_pct"] = round(outside_share * 100)
    return Condition(since, seen)


def _down(snap: Snapshot, fleet: FleetIndex, rule: Rule, sids: list[str]):
    """(since when each station is at zero or silent (None: producing), devices reporting)."""
    down: dict[str, int | None] = {}
    rep = 0
    for sid in sids:
        starts = []
        for d in fleet.producing[sid]:
            zero_w = float(rule.zero_power_share) / 100 * d.capacity_kw * 1000
            f = snap.fields(d.id)
            series = f.get("power_w") or f.get("energy_total_wh") or []
            fresh_after = snap.now_ms - int(silence_grace_s(d.interval_s) * 1000)
            if not series or series[-1].ts_ms < fresh_after:
                starts.append(snap.last_good_ms.get(d.id, snap.start_ms))
                continue
            rep += 1
            starts.append(zero_since(f, zero_w))
        down[sid] = None if any(s is None for s in starts) else max(starts)  # type: ignore[type-var]
    return down, rep


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per village whose stations are all down (a hold while they stay down)."""
    if not fleet.applies(rule):
        return []
    out = []
    window = snap.window(rule.window_margin_s)
    for v, sids in fleet.village_stations.items():
        down, reporting = _down(snap, fleet, rule, sids)
        others = {s: pts for s, pts in snap.peer_points.items() if fleet.stations[s].village != v}
        outside = peer_share(others, snap.now_ms - int(rule.for_s * 1000), snap.now_ms)
        cond = condition(
            down,
            now_ms=snap.now_ms,
            window=window,
            reporting=reporting,
            outside_share=outside,
            min_share=float(rule.peer_min_share) / 100,
            clear_sky_share=snap.expected_1kw(snap.now_ms) / 1000,
            min_clear_sky_share=float(rule.clear_sky_min_share) / 100,
        )
        hold = False
        if cond is None and len(down) >= 2 and all(t is not None for t in down.values()):
            cond = Condition(max(t for t in down.values() if t is not None), {"hold": True})
            hold = True
        if cond is not None:
            gws = {fleet.station_gateway(s) for s in down}
            gw = gws.pop() if len(gws) == 1 else None
            out.append(
                fleet.finding(
                    "village_outage", v, cond, rule.for_s, hold=hold, village=v, gateway=gw
                )
            )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """How many stations, how long, and what the other villages make."""
    s = alert.seen
    mins = minutes(now_ms - alert.since_ms)
    if lang == "zh":
        return (
            f"全村 {s.get('stations')} 座电站同时为零已 {mins} 分钟,其他村正常发电"
            f"({s.get('outside_share_pct', '?')}%)"
        )
    return (
        f"all {s.get('stations')} stations of the village at zero for {mins} min "
        f"while other villages produce ({s.get('outside_share_pct', '?')}%)"
    )
