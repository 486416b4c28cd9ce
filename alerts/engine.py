"""The alert engine: gather recent readings, run the rule kinds, apply suppression,
advance the lifecycle and hand events to the notifiers.

``Engine.step(now_ms)`` is one evaluation; the gateway component and `pvledger
alerts watch` call it on a schedule with the service clock (simulated time in
demos), never wall time. A rule that finds its full condition opens or fires an
alert; a weaker "hold" (the device is still at zero, but it is dusk or cloudy;
the station is under a village outage) keeps an open alert alive without
opening new ones, so an alert does not flap with the clouds.
"""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alerts import rules
from alerts.fleet import Fleet
from alerts.income import lost_fen, rate_yuan_per_kwh
from alerts.message import build_payload
from alerts.notify import Notifier
from alerts.rules import PeerPoint, Point
from alerts.state import Alert, AlertDb, Event, Finding
from core import solar
from core.config import Config
from core.config.alerts import STATION_KINDS
from core.reading import Quality
from core.store.base import Store

log = logging.getLogger("alerts")

FIELDS = ("power_w", "energy_total_wh", "export_wh", "status", "fault_code")
COUNTERS = ("energy_total_wh", "export_wh")
_MIN = 60_000
_DAY = 86_400_000
#: kinds whose open alert on a station makes its low_performance redundant
_STOPPED_KINDS = ("no_output", "comm_lost", "device_fault", "village_outage")


@dataclass
class Snapshot:
    """Recent good readings per device and field, and the sun, at one evaluation.

    failed_ms: per device, the times of its COMM_ERROR samples (failed or unanswered
    requests) in the lookback, oldest first: the evidence comm_lost needs for a
    polled device.
    """

    now_ms: int
    start_ms: int
    points: dict[str, dict[str, list[Point]]]
    last_good_ms: dict[str, int]
    rise_ms: int
    set_ms: int
    grid_ms: np.ndarray
    exp_1kw: np.ndarray
    peer_points: dict[str, list[PeerPoint]] = field(default_factory=dict)
    failed_ms: dict[str, list[int]] = field(default_factory=dict)

    def expected_1kw(self, ts_ms: int) -> float:
        """Clear-sky output of 1 kWp at ts_ms [W] (from the minute grid)."""
        i = int((ts_ms - int(self.grid_ms[0])) // _MIN)
        return float(self.exp_1kw[min(max(i, 0), len(self.exp_1kw) - 1)])


class Engine:
    """Evaluates the configured rules against a store and keeps the lifecycle."""

    def __init__(
        self,
        config: Config,
        store: Store,
        db: AlertDb,
        notifiers: Sequence[Notifier] = (),
        *,
        county: bool = False,
    ):
        self.config = config
        self.store = store
        self.db = db
        self.notifiers = list(notifiers)
        self.fleet = Fleet(config)
        self.county = county
        self.tz = config.site.tz
        self.lat, self.lon = config.site.latitude, config.site.longitude
        kinds = self.fleet.kinds()
        if not county:
            kinds.discard("gateway_silent")  # a gateway cannot see its own silence
        self.kinds = kinds
        self._snap: Snapshot | None = None
        #: first evaluation on a gateway: silence from before it is the gateway's own
        #: downtime (the county's gateway_silent), not a device's lost communication
        self.started_ms: int | None = None

    # -- one evaluation ------------------------------------------------------------------
    def step(self, now_ms: int) -> list[Event]:
        """Evaluate, advance the lifecycle, deliver what is owed; returns the new events."""
        if self.started_ms is None and not self.county:
            self.started_ms = now_ms
        findings = self.evaluate(now_ms)
        clear = {k: (r.clear_s if (r := self.fleet.rule(k)) else 0.0) for k in self.kinds}
        events = self.db.apply(
            findings,
            now_ms=now_ms,
            kinds=self.kinds,
            clear_s=clear,
            renotify_s=self.config.alerts.renotify_s,
            notifiers=[n.name for n in self.notifiers if n.takes_events],
            describe=self.describe,
        )
        for ev in events:
            log.info("alert %s %s %s", ev.event, ev.payload.get("kind"), ev.payload.get("subject"))
        self.deliver(now_ms)
        return events

    def deliver(self, now_ms: int) -> None:
        """Send every owed event to each notifier, in order; stop a notifier at its first
        failure (retried next round)."""
        for n in self.notifiers:
            if not n.takes_events:
                continue
            for ev in self.db.undelivered(n.name):
                try:
                    n.send(ev.payload)
                except Exception as exc:  # one notifier failing never stalls the rest
                    log.warning("notifier %s: event %d not delivered: %s", n.name, ev.id, exc)
                    self.db.failed(ev.id, n.name, str(exc))
                    break
                self.db.delivered(ev.id, n.name, now_ms=now_ms)
        for n in self.notifiers:
            try:
                n.maybe_digest(self.db, now_ms, self.config)
            except Exception as exc:
                log.warning("notifier %s: digest not sent: %s", n.name, exc)

    def snapshot(self, now_ms: int) -> Snapshot:
        """Read the recent readings and compute the sun for one evaluation."""
        lookback_s = 3600.0
        for k in ("no_output", "village_outage", "comm_lost", "gateway_silent"):
            r = self.fleet.rule(k)
            if r is not None:
                lookback_s = max(lookback_s, r.for_s + 1800)
        start = now_ms - int(min(lookback_s, 8 * 3600) * 1000)
        points: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
        last_good: dict[str, int] = {}
        failed: dict[str, set[int]] = defaultdict(set)
        for s in self.store.series(fields=FIELDS, start_ms=start, end_ms=now_ms + 1):
            if s.quality != Quality.GOOD or s.value is None:
                if s.quality == Quality.COMM_ERROR:
                    failed[s.device].add(s.ts_ms)
                continue
            points[s.device][s.field].append(Point(s.ts_ms, float(s.value)))
            if s.ts_ms > last_good.get(s.device, -1):
                last_good[s.device] = s.ts_ms
        missing = {d for d in self.fleet.devices if d not in last_good}
        if missing:
            # silent for the whole lookback: when did we last hear from it (the roll-up)
            older: dict[str, int] = {}
            for b in self.store.daily(
                fields=("power_w", *COUNTERS),
                start_day=self._day(now_ms - 3 * _DAY),
                end_day=self._day(now_ms),
                stations=sorted({self.fleet.devices[d].station for d in missing}),
            ):
                # a roll-up row may run past now (a backfilled store): only what came before
                if b.device in missing and b.last_ts_ms is not None and b.last_ts_ms <= start:
                    older[b.device] = max(older.get(b.device, -1), b.last_ts_ms)
            last_good.update(older)
        rise, sset = solar.sunrise_sunset_ms(now_ms, self.lat, self.lon, self.tz)
        grid = np.arange(start // _MIN * _MIN, now_ms + _MIN, _MIN, dtype=np.int64)
        exp = np.asarray(solar.expected_power_w(1.0, grid, self.lat, self.lon), dtype=float)
        snap = Snapshot(now_ms, start, points, last_good, int(rise), int(sset), grid, exp)
        snap.failed_ms = {d: sorted(ts) for d, ts in failed.items()}
        for sid, devs in self.fleet.producing.items():
            pts: list[PeerPoint] = []
            for d in devs:
                for p in points.get(d.id, {}).get("power_w", ()):
                    e = snap.expected_1kw(p.ts_ms) * d.capacity_kw
                    if e > 0:
                        pts.append(PeerPoint(p.ts_ms, p.value, e))
            if pts:
                snap.peer_points[sid] = pts
        return snap

    def evaluate(self, now_ms: int) -> list[Finding]:
        """All findings at now_ms, suppression applied (no lifecycle change)."""
        snap = self._snap = self.snapshot(now_ms)
        out: list[Finding] = []
        if "gateway_silent" in self.kinds:
            out += self._gateway_silent(snap)
        if "village_outage" in self.kinds:
            out += self._village_outage(snap)
        if "comm_lost" in self.kinds:
            out += self._comm_lost(snap)
        if "no_output" in self.kinds:
            out += self._no_output(snap)
        if "device_fault" in self.kinds:
            zero = {f.subject for f in out if f.kind == "no_output"}
            out += self._device_fault(snap, zero)
        if "counter_anomaly" in self.kinds:
            out += self._counter_anomaly(snap)
        if "low_performance" in self.kinds:
            out += self._low_performance(snap)
        return self._suppress(out)

    # -- suppression ---------------------------------------------------------------------
    def _suppress(self, findings: list[Finding]) -> list[Finding]:
        silent_gw = {f.subject for f in findings if f.kind == "gateway_silent"}
        out_villages = {f.subject for f in findings if f.kind == "village_outage"}
        res = []
        for f in findings:
            hide = (
                f.kind in ("comm_lost", "no_output", "village_outage") and f.gateway in silent_gw
            ) or (f.kind in STATION_KINDS and f.village in out_villages)
            if hide and not f.suppressed:
                f = Finding(**{**f.__dict__, "suppressed": True})
            res.append(f)
        return res

    # -- per kind ------------------------------------------------------------------------
    def _finding(
        self,
        kind: str,
        subject: str,
        cond: rules.Condition,
        for_s: float,
        *,
        hold: bool = False,
        station: str | None = None,
        device: str | None = None,
        village: str | None = None,
        gateway: str | None = None,
    ) -> Finding:
        if station and not village:
            village = self.fleet.stations[station].village
        if station and not gateway:
            gateway = self.fleet.station_gateway(station)
        return Finding(
            kind,
            subject,
            cond.since_ms,
            for_s,
            dict(cond.seen),
            station,
            village,
            device,
            gateway,
            suppressed=hold,
        )

    @staticmethod
    def _silence(
        snap: Snapshot,
        last: int | None,
        grace_s: float,
        daylight_only: bool,
        margin_s: float,
        floor_ms: int | None = None,
        *,
        polled: bool = False,
        failed_ms: Sequence[int] = (),
    ) -> tuple[rules.Condition | None, bool]:
        """(condition, hold) for a silent device or gateway.

        With daylight_only, silence counts from sunrise + margin (loggers wake late)
        until sunset; outside that an open alert is only held while the silence lasts.
        Silence before floor_ms (when this gateway started collecting) never counts.
        polled: only failed requests (failed_ms) count as silence (rules.comm_lost).
        """
        ev: dict[str, Any] = {"polled": polled, "failed_ms": failed_ms}
        if daylight_only:
            count_from = snap.rise_ms + int(margin_s * 1000)
            if count_from <= snap.now_ms <= snap.set_ms:
                start = max(count_from, floor_ms) if floor_ms is not None else count_from
                cond = rules.comm_lost(last, snap.now_ms, grace_s, count_from_ms=start, **ev)
                if cond is not None:
                    return cond, False
            return rules.comm_lost(last, snap.now_ms, grace_s, count_from_ms=floor_ms, **ev), True
        return rules.comm_lost(last, snap.now_ms, grace_s, count_from_ms=floor_ms, **ev), False

    def _comm_lost(self, snap: Snapshot) -> list[Finding]:
        out = []
        for d in self.fleet.devices.values():
            r = self.fleet.rule("comm_lost", d.station)
            if r is None:
                continue
            grace = 2 * d.interval_s + 60
            for_s = max(r.for_s, r.poll_multiple * d.interval_s)
            cond, hold = self._silence(
                snap,
                snap.last_good_ms.get(d.id),
                grace,
                r.daylight_only,
                r.window_margin_s,
                self.started_ms,
                polled=d.polled,
                failed_ms=snap.failed_ms.get(d.id, ()),
            )
            if cond is not None:
                out.append(
                    self._finding(
                        "comm_lost", d.id, cond, for_s, hold=hold, station=d.station, device=d.id
                    )
                )
        return out

    def _gateway_silent(self, snap: Snapshot) -> list[Finding]:
        out = []
        r = self.fleet.rule("gateway_silent")
        if r is None:
            return out
        for gw, devs in self.fleet.gateway_devices.items():
            lasts = [snap.last_good_ms[d] for d in devs if d in snap.last_good_ms]
            grace = 2 * max(self.fleet.devices[d].interval_s for d in devs) + 60
            cond, hold = self._silence(
                snap, max(lasts) if lasts else None, grace, r.daylight_only, r.window_margin_s
            )
            if cond is not None:
                seen = {**cond.seen, "devices": len(devs)}
                out.append(
                    self._finding(
                        "gateway_silent",
                        gw,
                        rules.Condition(cond.since_ms, seen),
                        r.for_s,
                        hold=hold,
                        gateway=gw,
                    )
                )
        return out

    def _window(self, snap: Snapshot, margin_s: float) -> tuple[int, int]:
        m = int(margin_s * 1000)
        return snap.rise_ms + m, snap.set_ms - m

    def _zero_start(self, snap: Snapshot, dev_id: str, zero_w: float) -> int | None:
        f = snap.points.get(dev_id, {})
        if f.get("power_w"):
            return rules.zero_run_start(f["power_w"], zero_w)
        return rules.flat_run_start(f.get("energy_total_wh", []))

    def _no_output(self, snap: Snapshot) -> list[Finding]:
        out = []
        for sid, devs in self.fleet.producing.items():
            r = self.fleet.rule("no_output", sid)
            if r is None:
                continue
            st = self.fleet.stations[sid]
            window = self._window(snap, r.window_margin_s)
            peers = {
                p: snap.peer_points[p]
                for p in self.fleet.village_stations.get(st.village, [])
                if p != sid and p in snap.peer_points
            }
            for d in devs:
                zero_w = float(r.zero_power_share) / 100 * d.capacity_kw * 1000
                f = snap.points.get(d.id, {})
                fresh_after = snap.now_ms - int((2 * d.interval_s + 60) * 1000)
                cond = rules.no_output(
                    f.get("power_w", []),
                    energy=f.get("energy_total_wh", []),
                    now_ms=snap.now_ms,
                    zero_w=zero_w,
                    window=window,
                    fresh_after_ms=fresh_after,
                    peers=peers,
                    min_peer_share=float(r.peer_min_share) / 100,
                    clear_sky_share=snap.expected_1kw(snap.now_ms) / 1000,
                    min_clear_sky_share=float(r.clear_sky_min_share) / 100,
                )
                hold = False
                if cond is not None:
                    fault = rules.device_fault(f.get("status", []), f.get("fault_code", []))
                    if fault is not None:  # say what the device itself reports
                        cond = rules.Condition(cond.since_ms, {**cond.seen, **fault.seen})
                if cond is None:
                    # still at zero (or asleep at night): keep an open alert, open none
                    start = self._zero_start(snap, d.id, zero_w)
                    series = f.get("power_w") or f.get("energy_total_wh") or []
                    asleep = not series or series[-1].ts_ms < fresh_after
                    if start is None and not asleep:
                        continue
                    cond = rules.Condition(start or snap.now_ms, {"hold": True})
                    hold = True
                out.append(
                    self._finding(
                        "no_output", d.id, cond, r.for_s, hold=hold, station=sid, device=d.id
                    )
                )
        return out

    def _village_outage(self, snap: Snapshot) -> list[Finding]:
        out = []
        r = self.fleet.rule("village_outage")
        if r is None:
            return out
        window = self._window(snap, r.window_margin_s)
        down_by_village: dict[str, dict[str, int | None]] = {}
        reporting: dict[str, int] = {}
        for v, sids in self.fleet.village_stations.items():
            down: dict[str, int | None] = {}
            rep = 0
            for sid in sids:
                starts = []
                for d in self.fleet.producing[sid]:
                    zero_w = float(r.zero_power_share) / 100 * d.capacity_kw * 1000
                    f = snap.points.get(d.id, {})
                    series = f.get("power_w") or f.get("energy_total_wh") or []
                    fresh_after = snap.now_ms - int((2 * d.interval_s + 60) * 1000)
                    if not series or series[-1].ts_ms < fresh_after:
                        starts.append(snap.last_good_ms.get(d.id, snap.start_ms))
                        continue
                    rep += 1
                    starts.append(self._zero_start(snap, d.id, zero_w))
                down[sid] = None if any(s is None for s in starts) else max(starts)  # type: ignore[type-var]
            down_by_village[v] = down
            reporting[v] = rep
        for v, down in down_by_village.items():
            others = {
                s: pts for s, pts in snap.peer_points.items() if self.fleet.stations[s].village != v
            }
            outside = rules.peer_share(others, snap.now_ms - int(r.for_s * 1000), snap.now_ms)
            cond = rules.village_outage(
                down,
                now_ms=snap.now_ms,
                window=window,
                reporting=reporting[v],
                outside_share=outside,
                min_share=float(r.peer_min_share) / 100,
                clear_sky_share=snap.expected_1kw(snap.now_ms) / 1000,
                min_clear_sky_share=float(r.clear_sky_min_share) / 100,
            )
            hold = False
            if cond is None and len(down) >= 2 and all(t is not None for t in down.values()):
                cond = rules.Condition(
                    max(t for t in down.values() if t is not None), {"hold": True}
                )
                hold = True
            if cond is not None:
                gws = {self.fleet.station_gateway(s) for s in down}
                out.append(
                    self._finding(
                        "village_outage",
                        v,
                        cond,
                        r.for_s,
                        hold=hold,
                        village=v,
                        gateway=gws.pop() if len(gws) == 1 else None,
                    )
                )
        return out

    def _device_fault(self, snap: Snapshot, no_output: set[str]) -> list[Finding]:
        """A fault status/code. Opens only inside the daylight window, and not for a device
        whose output is at zero: that is one incident, told as no_output (with the fault
        code in what was seen), so one stop is one alert."""
        out = []
        for d in self.fleet.devices.values():
            if d.role not in ("inverter", "logger"):
                continue
            r = self.fleet.rule("device_fault", d.station)
            if r is None:
                continue
            f = snap.points.get(d.id, {})
            cond = rules.device_fault(f.get("status", []), f.get("fault_code", []))
            if cond is None:
                continue
            lo, hi = self._window(snap, r.window_margin_s)
            hold = d.id in no_output or not (lo <= snap.now_ms <= hi)
            out.append(
                self._finding(
                    "device_fault", d.id, cond, r.for_s, hold=hold, station=d.station, device=d.id
                )
            )
        return out

    def _counter_anomaly(self, snap: Snapshot) -> list[Finding]:
        out = []
        for d in self.fleet.devices.values():
            r = self.fleet.rule("counter_anomaly", d.station)
            if r is None:
                continue
            f = snap.points.get(d.id, {})
            for fld in COUNTERS:
                pts = f.get(fld)
                if not pts:
                    continue
                cond = rules.counter_anomaly(
                    pts, capacity_w=d.capacity_kw * 1000, jump_factor=r.jump_factor
                )
                if cond is not None:
                    out.append(
                        self._finding(
                            "counter_anomaly", d.id, cond, r.for_s, station=d.station, device=d.id
                        )
                    )
        return out

    def _day(self, ts_ms: int) -> int:
        d = dt.datetime.fromtimestamp(ts_ms / 1000, self.tz).date()
        return d.year * 10000 + d.month * 100 + d.day

    def _day_start(self, day: int) -> int:
        d = dt.datetime(day // 10000, day // 100 % 100, day % 100, tzinfo=self.tz)
        return int(d.timestamp() * 1000)

    def _daily_yields(self, snap: Snapshot, n_days: int) -> dict[str, dict[int, float]]:
        """kWh/kWp per station and local day, today so far included (up to now only)."""
        today = self._day(snap.now_ms)
        first = self._day(snap.now_ms - (n_days + 7) * _DAY)
        energy: dict[tuple[str, int], float] = defaultdict(float)
        devs_seen: dict[tuple[str, int], int] = defaultdict(int)
        for b in self.store.daily(fields=("energy_total_wh",), start_day=first, end_day=today):
            info = self.fleet.devices.get(b.device)
            if info is None or info.role not in ("inverter", "logger"):
                continue
            if b.first_value is None or b.first_ts_ms is None:
                continue
            last = b.last_value
            if b.day == today:
                # the roll-up may hold later readings (a backfilled store): stop at now
                pts = snap.points.get(b.device, {}).get("energy_total_wh", [])
                if not pts or b.first_ts_ms > snap.now_ms:
                    continue
                last = pts[-1].value
            if last is None:
                continue
            energy[(b.station, b.day)] += max(float(last) - float(b.first_value), 0.0)
            devs_seen[(b.station, b.day)] += 1
        out: dict[str, dict[int, float]] = defaultdict(dict)
        for (sid, day), wh in energy.items():
            if devs_seen[(sid, day)] < len(self.fleet.producing.get(sid, [])):
                continue  # a device missing that day: not comparable
            out[sid][day] = wh / 1000 / self.fleet.stations[sid].capacity_kw
        return out

    def _low_performance(self, snap: Snapshot) -> list[Finding]:
        r0 = self.fleet.rule("low_performance")
        n_days = max(
            (r.days for r in self.config.alerts.rules if r.kind == "low_performance"),
            default=r0.days if r0 else 3,
        )
        yields = self._daily_yields(snap, n_days)
        stopped = {a.station for a in self.db.open_alerts() if a.kind in _STOPPED_KINDS}
        all_days = sorted({d for per in yields.values() for d in per})
        out = []
        for sid in self.fleet.producing:
            r = self.fleet.rule("low_performance", sid)
            if r is None or sid not in yields:
                continue
            st = self.fleet.stations[sid]
            peers = [p for p in self.fleet.village_stations.get(st.village, []) if p != sid]
            if not peers:
                peers = [p for p in yields if p != sid]
            days = []
            for day in all_days:
                vals = [yields[p][day] for p in peers if day in yields.get(p, {})]
                days.append(
                    rules.DayYield(
                        self._day_start(day),
                        yields[sid].get(day),
                        statistics.median(vals) if vals else None,
                    )
                )
            cond = rules.low_performance(
                days,
                share=float(r.peer_median_share) / 100,
                n_days=r.days,
                min_peer_kwh_per_kwp=r.min_day_kwh_per_kwp,
            )
            if cond is not None:
                out.append(
                    self._finding(
                        "low_performance", sid, cond, 0.0, hold=sid in stopped, station=sid
                    )
                )
        return out

    # -- what an event says ----------------------------------------------------------------
    def expected_energy_wh(self, alert: Alert, now_ms: int) -> int | None:
        """Energy the subject should have produced since the alert began [Wh], or None
        when the kind does not say generation stopped (comms, counters)."""
        if alert.kind in ("comm_lost", "gateway_silent", "counter_anomaly"):
            return None
        if alert.kind == "low_performance":
            st = self.fleet.stations.get(alert.station or "")
            own = alert.seen.get("own_kwh_per_kwp") or []
            peer = alert.seen.get("peer_median_kwh_per_kwp") or []
            if st is None:
                return None
            return round(
                sum(max(p - o, 0) for o, p in zip(own, peer, strict=False)) * st.capacity_kw * 1000
            )
        if alert.kind == "village_outage":
            kw = sum(
                self.fleet.stations[s].capacity_kw
                for s in self.fleet.village_stations.get(alert.subject, [])
            )
            weather = self._outside_weather(alert.subject)
        else:
            info = self.fleet.devices.get(alert.device or "")
            kw = info.capacity_kw if info else self.fleet.stations[alert.station or ""].capacity_kw
            weather = self._peer_weather(alert.station)
        end = alert.resolved_ms or now_ms
        if end <= alert.since_ms:
            return 0
        grid = np.arange(alert.since_ms, end, 10 * _MIN, dtype=np.int64)
        exp = np.asarray(solar.expected_power_w(kw, grid, self.lat, self.lon), dtype=float)
        factor = 1.0 if weather is None else min(max(weather, 0.0), 1.0)
        return round(float(exp.sum()) * factor * (10 / 60))

    def _peer_weather(self, station: str | None) -> float | None:
        """Output / clear-sky of a station's village peers over the last hour [-]."""
        snap = self._snap
        st = self.fleet.stations.get(station or "")
        if snap is None or st is None:
            return None
        peers = {
            p: snap.peer_points[p]
            for p in self.fleet.village_stations.get(st.village, [])
            if p != st.id and p in snap.peer_points
        }
        share = rules.peer_share(peers, snap.now_ms - 3_600_000, snap.now_ms)
        return share if share is not None else self._outside_weather(st.village)

    def _outside_weather(self, village: str | None) -> float | None:
        """Output / clear-sky of the stations outside a village over the last hour [-]."""
        snap = self._snap
        if snap is None:
            return None
        others = {
            s: pts
            for s, pts in snap.peer_points.items()
            if self.fleet.stations[s].village != village
        }
        return rules.peer_share(others, snap.now_ms - 3_600_000, snap.now_ms)

    def lost_income_fen(self, alert: Alert, now_ms: int) -> tuple[int | None, int | None]:
        """(expected energy [Wh], income lost [fen]) since the alert began, or Nones."""
        wh = self.expected_energy_wh(alert, now_ms)
        if wh is None:
            return None, None
        day = dt.datetime.fromtimestamp(now_ms / 1000, self.tz).date()
        if alert.kind == "village_outage":
            fen = sum(
                lost_fen(
                    round(
                        wh * self.fleet.stations[s].capacity_kw / max(self._village_kw(alert), 1e-9)
                    ),
                    rate_yuan_per_kwh(self.fleet.stations[s], self.config.tariffs, day),
                )
                for s in self.fleet.village_stations.get(alert.subject, [])
            )
            return wh, fen
        st = self.fleet.stations.get(alert.station or "")
        if st is None:
            return wh, None
        return wh, lost_fen(wh, rate_yuan_per_kwh(st, self.config.tariffs, day))

    def _village_kw(self, alert: Alert) -> float:
        return sum(
            self.fleet.stations[s].capacity_kw
            for s in self.fleet.village_stations.get(alert.subject, [])
        )

    def describe(self, alert: Alert, event: str, now_ms: int) -> dict[str, Any]:
        """The payload every notifier sends for one event."""
        wh, fen = self.lost_income_fen(alert, now_ms)
        station_state = None
        if alert.station:
            station_state = [
                {"id": a.id, "kind": a.kind, "subject": a.subject, "since_ms": a.since_ms}
                for a in self.db.open_alerts()
                if a.station == alert.station and a.state == "firing"
            ]
        return build_payload(
            self.config,
            alert,
            event,
            now_ms,
            expected_wh=wh,
            lost_fen=fen,
            station_state=station_state,
        )
