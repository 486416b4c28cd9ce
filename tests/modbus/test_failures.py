"""Failure handling against a real pymodbus peer: the three failure kinds stay apart.

busy (exception 6) -> DEVICE_ERROR, no reconnect; no answer -> COMM_ERROR and a
reconnect; garbage frame -> COMM_ERROR, then recovery; back-off grows by 2 s per
failure; an outage is logged once at its start and once at its end; scale factors
are re-read every cycle; a counter that goes down is stored as read.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from collector.modbus.poller import BACKOFF_MAX_S, backoff_s
from core.reading import Quality
from tests.modbus.conftest import CASES, make_poller
from tests.modbus.peer import Peer, load_image_file
from tests.servers import free_port


def _peer(case: str) -> Peer:
    return Peer(load_image_file(CASES / case / "registers.yaml"), port=free_port())


def test_backoff_grows_by_two_seconds_and_caps() -> None:
    assert [backoff_s(n) for n in (1, 2, 3)] == [2.0, 4.0, 6.0]
    assert backoff_s(10_000) == BACKOFF_MAX_S == 300.0


def test_busy_is_a_device_error_without_reconnect() -> None:
    async def run():
        peer = _peer("sunspec-40000")
        await peer.start()
        p = make_poller(peer.port, "sunspec", 1)
        try:
            first = await p.poll()
            peer.mode[1] = "busy"
            busy = await p.poll()
            peer.mode[1] = "ok"
            p.state.next_attempt_mono = 0
            again = await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()
        return p, first, busy, again

    p, first, busy, again = asyncio.run(run())
    assert first.values["power_w"] == 45670.0
    assert all(v is None for v in busy.values.values())
    assert set(busy.quality.values()) == {Quality.DEVICE_ERROR}
    assert again.values == first.values and not again.quality
    assert p.endpoint.connects == 1  # busy never reconnects
    assert p.state.polls == 3 and p.state.consecutive_failures == 0


def test_timeout_is_a_comm_error_then_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    async def run():
        peer = _peer("sunspec-40000")
        peer.silence_s = 1.0
        await peer.start()
        p = make_poller(peer.port, "sunspec", 1, timeout_s=0.2)
        try:
            await p.poll()
            peer.mode[1] = "silent"
            dead1 = await p.poll()
            backoff_after_one = p.state.next_attempt_mono
            dead2 = await p.poll()
            peer.mode[1] = "ok"
            back = await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()
        return p, dead1, dead2, back, backoff_after_one

    with caplog.at_level(logging.INFO, logger="collector.modbus"):
        p, dead1, dead2, back, b1 = asyncio.run(run())
    assert set(dead1.quality.values()) == {Quality.COMM_ERROR}
    assert all(v is None for v in dead1.values.values())  # never 0
    assert set(dead2.quality.values()) == {Quality.COMM_ERROR}
    assert back.values["power_w"] == 45670.0 and not back.quality
    assert p.endpoint.connects >= 2  # reconnected after the transport error
    assert b1 > 0
    outage_logs = [r for r in caplog.records if "not answering" in r.getMessage()]
    back_logs = [r for r in caplog.records if "answering again" in r.getMessage()]
    assert len(outage_logs) == 1 and len(back_logs) == 1  # once at start, once at end


def test_garbage_frame_is_a_comm_error_and_recovers() -> None:
    async def run():
        peer = _peer("huawei-sun2000")
        await peer.start()
        p = make_poller(peer.port, "huawei-sun2000", 1, timeout_s=0.3)
        try:
            peer.garbage = True
            bad = await p.poll()
            peer.garbage = False
            good = await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()
        return bad, good

    bad, good = asyncio.run(run())
    assert set(bad.quality.values()) == {Quality.COMM_ERROR}
    assert good.values["power_w"] == 49876.0 and not good.quality


def test_scale_factor_change_mid_run_is_never_cached() -> None:
    async def run():
        peer = _peer("sunspec-40000")
        await peer.start()
        p = make_poller(peer.port, "sunspec", 1)
        img = peer.units[1].holding
        try:
            before = await p.poll()
            # the inverter switches W_SF from 1 to -1 and its raw value with it
            img[40070 + 14], img[40070 + 15] = 12345, 0xFFFF
            after = await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()
        return before, after

    before, after = asyncio.run(run())
    assert before.values["power_w"] == 45670.0
    assert after.values["power_w"] == 1234.5


def test_counter_reset_is_stored_as_read(caplog: pytest.LogCaptureFixture) -> None:
    async def run():
        peer = _peer("huawei-sun2000")
        await peer.start()
        p = make_poller(peer.port, "huawei-sun2000", 1)
        img = peer.units[1].holding
        try:
            first = await p.poll()
            img[32106], img[32107] = 0, 5  # replaced inverter: counter restarts at 50 Wh
            second = await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()
        return first, second

    with caplog.at_level(logging.WARNING, logger="collector.modbus"):
        first, second = asyncio.run(run())
    assert first.values["energy_total_wh"] == 123456780
    assert second.values["energy_total_wh"] == 50
    assert second.quality_of("energy_total_wh") is Quality.GOOD
    assert any("went down" in r.getMessage() for r in caplog.records)


def test_unknown_status_code_is_a_decode_error() -> None:
    async def run():
        peer = _peer("huawei-sun2000")
        await peer.start()
        peer.units[1].holding[32089] = 0x7777
        p = make_poller(peer.port, "huawei-sun2000", 1)
        try:
            return p, await p.poll()
        finally:
            p.endpoint.close()
            await peer.stop()

    p, r = asyncio.run(run())
    assert r.values["status"] is None
    assert r.quality == {"status": Quality.DECODE_ERROR}
    assert p.state.consecutive_failures == 0  # the device answered: not an outage


def test_adapter_refuses_to_send_anything_but_a_read() -> None:
    from collector.modbus.transport import Endpoint

    ep = Endpoint("x", host="127.0.0.1", port=1)
    for fc in (5, 6, 15, 16, 23):
        with pytest.raises(ValueError, match="not a read"):
            asyncio.run(ep.read(fc, 0, 1, 1))
