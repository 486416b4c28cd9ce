"""History backfill: the readings the collector would have recorded, straight into a Store.

Same model and seed as the live simulator (simulator/fleet.py), so live
data continue the history without a jump. Faults in the window appear in the
history; while a ``comm_loss`` fault holds, a pushing logger (MQTT) leaves no
reading and a polled device (Modbus) a COMM_ERROR reading per step (the collector
asked and got no answer: the evidence comm_lost needs for a polled device).
Devices are read at one instant per step on a grid aligned to ``resolution_s``
from the UTC epoch.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from collector.sinks import GatedSink
from core.clock import Clock
from core.config import Config
from core.reading import MEASUREMENT_METER, MEASUREMENT_PV, Quality, Reading
from core.store import Store
from simulator.faults import Fault, FaultBook
from simulator.fleet import DEFAULT_SEED, Fleet

PV_FIELDS = ("power_w", "energy_total_wh", "energy_today_wh", "status", "temperature_c")
METER_FIELDS = ("export_wh", "import_wh", "power_w")
#: readings per Store.write call (one transaction each)
BATCH = 20_000


class _At(Clock):
    """A clock standing still at the end of the backfilled window."""

    def __init__(self, now_ms: int):
        self._now_ms = now_ms

    def now_ms(self) -> int:
        """The window's end, UTC epoch milliseconds."""
        return self._now_ms


def _book(faults: FaultBook | Iterable[Fault] | None) -> FaultBook:
    if faults is None:
        return FaultBook()
    return faults if isinstance(faults, FaultBook) else FaultBook(faults)


def backfill(
    config: Config,
    store: Store,
    start_ms: int,
    end_ms: int,
    resolution_s: int = 300,
    seed: int = DEFAULT_SEED,
    faults: FaultBook | Iterable[Fault] | None = None,
    fleet: Fleet | None = None,
) -> int:
    """Write simulated readings for [start_ms, end_ms) every resolution_s [s]; returns readings.

    Inverters and loggers: measurement "pv" with power_w, energy_total_wh,
    energy_today_wh, status, temperature_c. Meters: measurement "meter" with
    export_wh, import_wh, power_w. Tagged with village and the site's gateway.
    ``fleet`` lets a caller reuse a model already built for this config and seed.
    """
    if resolution_s <= 0:
        raise ValueError("resolution_s must be > 0")
    horizon_ms = int(config.storage.limits.backfill_horizon_days * 86_400_000)
    if end_ms - start_ms > horizon_ms:
        raise ValueError(
            f"a backfill of {(end_ms - start_ms) / 86_400_000:g} days reaches past "
            f"storage.limits.backfill_horizon_days "
            f"({config.storage.limits.backfill_horizon_days:g}); raise it in the config"
        )
    # the plausibility gate every source passes; "now" is the end of the history
    store = GatedSink.for_config(config, store, _At(int(end_ms)))
    fl = fleet or Fleet(config, seed)
    book = _book(faults)
    step = int(resolution_s * 1000)
    first = -(-int(start_ms) // step) * step
    ts = np.arange(first, int(end_ms), step, dtype=np.int64)
    if ts.size == 0:
        return 0
    # Readings hold no reference cycles: pausing the cyclic GC while building and
    # writing hundreds of thousands of them saves a third of the time.
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        return _write_all(config, store, fl, book, ts)
    finally:
        if gc_was_on:
            gc.enable()


def _batches(config: Config, fl: Fleet, book: FaultBook, ts: np.ndarray) -> Iterator[list]:
    """Readings device by device, in lists of about BATCH."""
    gateway = config.site.gateway
    tl = ts.tolist()
    batch: list[Reading] = []
    for i, dev in enumerate(fl.devices):
        st = fl.state(i, ts, book)
        names = METER_FIELDS if dev.is_meter else PV_FIELDS
        meas = MEASUREMENT_METER if dev.is_meter else MEASUREMENT_PV
        keep = np.ones(ts.shape, dtype=bool)
        for f in book.for_device(dev.id):
            if f.kind == "comm_loss":
                keep &= ~((ts >= f.start_ms) & (ts < (f.end_ms or 2**62)))
        rows = zip(tl, zip(*(st[n].tolist() for n in names), strict=True), strict=True)
        station, device, village = dev.station, dev.id, dev.village
        if not keep.all():
            rows = (r for r, k in zip(rows, keep.tolist(), strict=True) if k)
            if dev.kind != "mqtt-logger":  # polled: every unanswered request is recorded
                lost = dict.fromkeys(names, Quality.COMM_ERROR)
                batch.extend(
                    Reading(
                        station, device, t, dict.fromkeys(names), dict(lost), meas, village, gateway
                    )
                    for t in ts[~keep].tolist()
                )
        batch.extend(
            Reading(
                station,
                device,
                t,
                dict(zip(names, row, strict=True)),
                measurement=meas,
                village=village,
                gateway=gateway,
            )
            for t, row in rows
        )
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_all(config: Config, store: GatedSink, fl: Fleet, book: FaultBook, ts: np.ndarray) -> int:
    """Build batches here while a writer thread stores the previous one (SQLite releases
    the GIL while it works, so building and writing overlap)."""
    count = 0
    with ThreadPoolExecutor(1, thread_name_prefix="backfill-writer") as pool:
        pending = None
        for batch in _batches(config, fl, book, ts):
            if pending is not None:
                pending.result()
            pending = pool.submit(store.write, batch)
            count += len(batch)
        if pending is not None:
            pending.result()
    return count
