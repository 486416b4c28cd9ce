"""The kinds' conditions and the shared signals as pure functions over hand-built readings
(no store, no clock)."""

from __future__ import annotations

from alerts import signals
from alerts.kinds import counter_anomaly, low_performance, no_output, village_outage
from alerts.kinds.low_performance import DayYield
from alerts.signals import PeerPoint, Sample

MIN = 60_000
T0 = 1_531_195_200_000  # 2018-07-10 04:00 UTC = 12:00 in Ji'an
WINDOW = (T0 - 4 * 3600_000, T0 + 4 * 3600_000)


def series(values, start=T0 - 119 * MIN, step=MIN):
    return [Sample(start + i * step, float(v)) for i, v in enumerate(values)]


def peers(share, n=3, start=T0 - 119 * MIN, count=120, expected=2000.0):
    return {
        f"p{k}": [PeerPoint(start + i * MIN, share * expected, expected) for i in range(count)]
        for k in range(n)
    }


def at_zero(power, peer_share=0.8, now=T0, window=WINDOW, clear=0.7, peer_map=None):
    return no_output.condition(
        power,
        now_ms=now,
        zero_w=30,
        window=window,
        fresh_after_ms=now - 3 * MIN,
        peers=peers(peer_share) if peer_map is None else peer_map,
        min_peer_share=0.2,
        clear_sky_share=clear,
        min_clear_sky_share=0.3,
    )


def test_comm_lost_counts_silence_beyond_grace_only():
    assert signals.silence(T0 - 60_000, T0, grace_s=180) is None
    c = signals.silence(T0 - 3600_000, T0, grace_s=180)
    assert c is not None and c.since_ms == T0 - 3600_000 and c.seen["silent_s"] == 3600


def test_comm_lost_daylight_only_counts_from_sunrise():
    sunrise = T0 - 5 * 3600_000
    c = signals.silence(T0 - 20 * 3600_000, T0, 180, count_from_ms=sunrise)
    assert c is not None and c.since_ms == sunrise
    # silent since last night but the sun rose two minutes ago: not yet
    assert (
        signals.silence(T0 - 20 * 3600_000, sunrise + 2 * MIN, 180, count_from_ms=sunrise) is None
    )
    # never heard of at all: silent since sunrise
    assert signals.silence(None, T0, 180, count_from_ms=sunrise).since_ms == sunrise
    assert signals.silence(None, T0, 180) is None


def test_comm_lost_of_a_polled_device_counts_only_its_failed_requests():
    last_good = T0 - 3600_000

    def lost(failed, **kw):
        return signals.silence(last_good, T0, 180, polled=True, failed_ms=failed, **kw)

    # an hour without a reading but no request failed: its polls were only late
    assert lost([]) is None
    assert lost([last_good - 5 * MIN, last_good - MIN]) is None  # failures before it answered
    # one timeout after an hour of late polls is no proof of an hour's silence
    assert lost([T0 - MIN]) is None
    # failed requests spanning no more than the grace: not yet
    assert lost([T0 - 3 * MIN, T0 - 2 * MIN, T0]) is None
    # failures spanning more than the grace: lost since the first of them
    c = lost([T0 - 10 * MIN + i * MIN for i in range(11)])
    assert c is not None and c.since_ms == T0 - 10 * MIN
    assert c.seen["failed_requests"] == 11 and c.seen["last_failed_ms"] == T0
    assert c.seen["silent_s"] == 3600 and c.seen["last_reading_ms"] == last_good
    # failures in the future of the evaluation (a backfilled store) do not count
    assert lost([T0 - MIN, T0 + 10 * MIN]) is None
    # never answered since sunrise, failing ever since: lost since the first failure
    sunrise = T0 - 5 * 3600_000
    fails = [sunrise - 30 * MIN + i * 10 * MIN for i in range(40)]
    c = signals.silence(None, T0, 180, count_from_ms=sunrise, polled=True, failed_ms=fails)
    assert c is not None and c.since_ms == min(t for t in fails if t > sunrise)
    # failures only before sunrise (at night): they do not count today
    night = [t for t in fails if t < sunrise]
    at_night = signals.silence(None, T0, 180, count_from_ms=sunrise, polled=True, failed_ms=night)
    assert at_night is None


def test_zero_run_and_flat_counter():
    pts = series([500] * 40 + [0] * 80)
    assert signals.zero_run_start(pts, 30) == pts[40].ts_ms
    assert signals.zero_run_start(series([0] * 10 + [400]), 30) is None
    e = series([100, 200, 300, 300, 300])
    assert signals.flat_run_start(e) == e[2].ts_ms
    assert signals.flat_run_start(series([100, 200])) is None


def test_no_output_fires_when_peers_produce():
    pts = series([1500] * 30 + [0] * 90)
    c = at_zero(pts)
    assert c is not None
    assert c.since_ms == pts[30].ts_ms
    assert c.seen["peer_share_pct"] == 80


def test_no_output_quiet_in_uniform_cloud_and_at_night():
    pts = series([0] * 120)
    # peers at 10 % of their clear-sky expectation: heavy overcast, not a stop
    assert at_zero(pts, peer_share=0.10) is None
    # outside sunrise+1h .. sunset-1h
    assert at_zero(pts, window=(T0 + 3600_000, T0 + 7200_000)) is None
    # producing, just dim: not zero
    assert at_zero(series([90] * 120), peer_share=0.05) is None


def test_no_output_needs_fresh_readings():
    pts = series([0] * 60)  # stops 60 min before now: the device is silent, not at zero
    assert at_zero(pts) is None


def test_no_output_without_peers_uses_clear_sky():
    pts = series([0] * 120)
    assert at_zero(pts, peer_map={}, clear=0.7) is not None
    assert at_zero(pts, peer_map={}, clear=0.2) is None


def test_peer_share_is_the_median_of_energy_weighted_shares():
    p = {
        "a": [PeerPoint(T0, 100, 1000), PeerPoint(T0 + MIN, 300, 1000)],  # 0.2
        "b": [PeerPoint(T0, 800, 1000)],  # 0.8
        "c": [PeerPoint(T0, 500, 1000)],  # 0.5
    }
    assert signals.peer_share(p, T0, T0 + MIN) == 0.5
    assert signals.peer_share(p, T0 + 5 * MIN, T0 + 9 * MIN) is None


def test_low_performance_three_judged_days():
    day = 86_400_000
    low = [DayYield(T0 + i * day, 2.0, 4.5) for i in range(3)]
    c = low_performance.condition(low, share=0.6, n_days=3, min_peer_kwh_per_kwp=1.0)
    assert c is not None and c.since_ms == T0 and c.seen["days"] == 3
    # an OK day in between breaks the run
    mixed = [low[0], DayYield(T0 + 1 * day, 4.0, 4.5), low[2]]
    assert low_performance.condition(mixed, share=0.6, n_days=3, min_peer_kwh_per_kwp=1.0) is None
    # a dull rainy day is skipped: neither counts nor breaks
    rainy = [low[0], DayYield(T0 + day, 0.1, 0.5), low[1], low[2]]
    c = low_performance.condition(rainy, share=0.6, n_days=3, min_peer_kwh_per_kwp=1.0)
    assert c is not None and c.since_ms == low[0].day_start_ms
    # uniformly cloudy: everyone low together is not low performance
    cloudy = [DayYield(T0 + i * day, 1.1, 1.2) for i in range(5)]
    assert low_performance.condition(cloudy, share=0.6, n_days=3, min_peer_kwh_per_kwp=1.0) is None


def test_device_fault_from_status_or_code():
    st = series([1] * 5 + [3] * 5)
    c = signals.reported_fault(st, [])
    assert c is not None and c.since_ms == st[5].ts_ms and c.seen["status"] == 3
    code = series([0] * 8 + [2011] * 2)
    c = signals.reported_fault(series([1] * 10), code)
    assert c is not None and c.seen["fault_code"] == 2011
    assert signals.reported_fault(series([3, 3, 1]), series([5, 0, 0])) is None


def test_counter_anomaly_backwards_and_jump():
    e = series([1000, 1050, 1100, 900, 950])
    c = counter_anomaly.condition(e, capacity_w=3000, jump_factor=1.5)
    assert c is not None and c.seen["anomaly"] == "backwards" and c.since_ms == e[3].ts_ms
    # 3 kW for one minute is at most 50 Wh; 1.5x + 50 Wh slack = 125 Wh
    e = series([1000, 1050, 1100, 1500])
    c = counter_anomaly.condition(e, capacity_w=3000, jump_factor=1.5)
    assert c is not None and c.seen["anomaly"] == "jump"
    assert (
        counter_anomaly.condition(
            series([1000, 1050, 1100, 1150]), capacity_w=3000, jump_factor=1.5
        )
        is None
    )


def test_counter_that_repeats_then_catches_up_is_not_a_jump():
    # registers refreshed every few minutes: 1000 repeated for 3 readings, then the
    # energy of those minutes at once; 190 Wh over 4 minutes at 3 kW is plausible
    steady = series([950, 1000, 1000, 1000, 1190])
    assert counter_anomaly.condition(steady, capacity_w=3000, jump_factor=1.5) is None
    # without the repeats the window is two minutes (from 950): 300 Wh is a jump
    c = counter_anomaly.condition(series([950, 1000, 1300]), capacity_w=3000, jump_factor=1.5)
    assert c is not None and c.seen["anomaly"] == "jump"


def test_village_outage_all_down_while_others_produce():
    down = {"a": T0 - 30 * MIN, "b": T0 - 20 * MIN, "c": T0 - 25 * MIN}
    kw = dict(
        now_ms=T0,
        window=WINDOW,
        reporting=3,
        min_share=0.2,
        clear_sky_share=0.7,
        min_clear_sky_share=0.3,
    )
    c = village_outage.condition(down, outside_share=0.8, **kw)
    assert c is not None and c.since_ms == T0 - 20 * MIN
    assert village_outage.condition({**down, "b": None}, outside_share=0.8, **kw) is None
    # the whole district dark under a storm: not a village outage
    assert village_outage.condition(down, outside_share=0.05, **kw) is None
    # nobody reporting: that is a comms problem
    assert village_outage.condition(down, outside_share=0.8, **{**kw, "reporting": 0}) is None
