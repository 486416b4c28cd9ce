"""no_output 停止发电: readings arrive but output is ~0 in daylight while it should not be.

"Should not be": the village peers produce at least a share of their clear-sky
expectation, or, without peers, the clear-sky output is a fair share of nameplate. Once
open, a weaker form (still at zero but dusk or cloudy, or asleep at night) holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from alerts.signals import (
    Condition,
    PeerPoint,
    Sample,
    flat_run_start,
    peer_share,
    reported_fault,
    silence_grace_s,
    zero_run_start,
    zero_since,
)
from alerts.state import Alert, Finding
from alerts.wording import fault_text, minutes
from core.config import Config
from core.config.alerts import MarginS, RuleBase, Share

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A stopped inverter or logger."""

    kind: Literal["no_output"]
    #: power at or below this share of capacity counts as zero [%]
    zero_power_share: Share = Decimal("1")
    #: only inside sunrise + margin .. sunset - margin [s]
    window_margin_s: MarginS = 3600
    #: village peers must produce at least this share of their clear-sky expectation
    #: (kWp-normalised) [%]
    peer_min_share: Share = Decimal("20")
    #: without peers: clear-sky output must be at least this share of nameplate, so
    #: dawn, dusk and winter lows never count [%]
    clear_sky_min_share: Share = Decimal("30")


NAMES = {"zh": "停止发电", "en": "no output"}
SUPPRESSED_BY = {"gateway_silent": "gateway", "village_outage": "village"}
LOSS = "stop"


def lookback_s(rule: Rule) -> float:
    """The zero run must be seen for for_s, with half an hour to spare [s]."""
    return rule.for_s + 1800


def condition(
    power: Sequence[Sample],
    *,
    now_ms: int,
    zero_w: float,
    window: tuple[int, int],
    fresh_after_ms: int,
    peers: Mapping[str, Sequence[PeerPoint]],
    min_peer_share: float,
    clear_sky_share: float,
    min_clear_sky_share: float,
    energy: Sequence[Sample] = (),
) -> Condition | None:
    """Readings arrive but output is ~0 inside the daylight window while it should not be.

    power: the device's good power readings [W] (or, when it reports none, its
    energy counter [Wh] must stay flat). window: (sunrise + margin, sunset −
    margin) [ms]; the run counts from the later of its start and the window
    start. The newest reading must be after fresh_after_ms (else it is comm_lost's
    case). The output should not be zero: the village peers produce at least
    min_peer_share of their clear-sky expectation over the run, or, with no peer
    data, the clear-sky output is at least min_clear_sky_share of nameplate.
    """
    lo, hi = window
    if not (lo <= now_ms <= hi):
        return None
    series = power or energy
    if not series or series[-1].ts_ms < fresh_after_ms:
        return None
    start = zero_run_start(power, zero_w) if power else flat_run_start(energy)
    if start is None:
        return None
    since = max(start, lo)
    share = peer_share(peers, since, now_ms)
    if share is None:
        if clear_sky_share < min_clear_sky_share:
            return None
    elif share < min_peer_share:
        return None
    seen: dict[str, Any] = {"zero_since_ms": start, "max_power_w": zero_w}
    if share is not None:
        seen["peer_share_pct"] = round(share * 100)
        seen["peers"] = len(peers)
    else:
        seen["clear_sky_share_pct"] = round(clear_sky_share * 100)
    return Condition(since, seen)


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per producing device at zero (a hold while it stays at zero or asleep)."""
    out = []
    for sid, devs in fleet.producing.items():
        if not fleet.applies(rule, sid):
            continue
        st = fleet.stations[sid]
        window = snap.window(rule.window_margin_s)
        peers = {
            p: snap.peer_points[p]
            for p in fleet.village_stations.get(st.village, [])
            if p != sid and p in snap.peer_points
        }
        for d in devs:
            zero_w = float(rule.zero_power_share) / 100 * d.capacity_kw * 1000
            f = snap.fields(d.id)
            fresh_after = snap.now_ms - int(silence_grace_s(d.interval_s) * 1000)
            cond = condition(
                f.get("power_w", []),
                energy=f.get("energy_total_wh", []),
                now_ms=snap.now_ms,
                zero_w=zero_w,
                window=window,
                fresh_after_ms=fresh_after,
                peers=peers,
                min_peer_share=float(rule.peer_min_share) / 100,
                clear_sky_share=snap.expected_1kw(snap.now_ms) / 1000,
                min_clear_sky_share=float(rule.clear_sky_min_share) / 100,
            )
            hold = False
            if cond is not None:
                fault = reported_fault(f.get("status", []), f.get("fault_code", []))
                if fault is not None:  # say what the device itself reports
                    cond = Condition(cond.since_ms, {**cond.seen, **fault.seen})
            if cond is None:
                # still at zero (or asleep at night): keep an open alert, open none
                start = zero_since(f, zero_w)
                series = f.get("power_w") or f.get("energy_total_wh") or []
                asleep = not series or series[-1].ts_ms < fresh_after
                if start is None and not asleep:
                    continue
                cond = Condition(start or snap.now_ms, {"hold": True})
                hold = True
            out.append(
                fleet.finding(
                    "no_output", d.id, cond, rule.for_s, hold=hold, station=sid, device=d.id
                )
            )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """How long at zero, against what the peers (or the clear sky) made."""
    s = alert.seen
    zh = lang == "zh"
    mins = minutes(now_ms - alert.since_ms)
    if "peer_share_pct" in s:
        peers = (
            f"同村 {s.get('peers')} 座电站发电达晴空预期的 {s['peer_share_pct']}%"
            if zh
            else f"{s.get('peers')} village peers at {s['peer_share_pct']}% of "
            "clear-sky expectation"
        )
    else:
        peers = (
            f"晴空预期达额定的 {s.get('clear_sky_share_pct', '?')}%"
            if zh
            else f"clear-sky output {s.get('clear_sky_share_pct', '?')}% of nameplate"
        )
    text = (
        f"功率 ≤ {s.get('max_power_w', 0):.0f} W 已 {mins} 分钟(日间),而{peers}"
        if zh
        else f"power <= {s.get('max_power_w', 0):.0f} W for {mins} min in daylight while {peers}"
    )
    if "status" in s or "fault_code" in s:
        text += ("; " if not zh else ";") + fault_text(s, zh)
    return text
