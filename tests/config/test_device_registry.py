"""Each protocol's device config is one module registered by one line (issue 13).

The Device union, the sources and the loader's uniqueness and path checks follow
from core/config/devices DEVICE_MODELS; the loader names no protocol. A made-up
protocol (LoRa, below) shows that a new one plugs in through the same hooks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal

import pytest
from pydantic import TypeAdapter, ValidationError

from core.config import TOP_KEYS, load_config
from core.config.collect import UNION_TAGS, ProblemCollector
from core.config.devices import (
    DEVICE_MODELS,
    MODELS,
    SOURCES,
    DeviceBase,
    device_union,
    load_models,
    source_of,
)
from core.config.model import Station, Village
from core.config.paths import path_values
from core.config.references import reference_problems
from core.config.yamlsrc import YamlSource
from core.problems import BadInput
from tests.conftest import ROOT

CONFIG_DIR = ROOT / "core" / "config"


class LoraDevice(DeviceBase):
    """A made-up protocol: a LoRaWAN node with a unique DevEUI and a key file."""

    source: Literal["lora"]
    dev_eui: str
    key_file: str

    path_keys: ClassVar[tuple[str, ...]] = ("key_file",)

    def claims(self) -> tuple[tuple[str, str, str], ...]:
        """A DevEUI belongs to one node."""
        return (("dev_eui", self.dev_eui, "give each node its own dev_eui"),)


LORA = f"{__name__}:LoraDevice"


def test_every_registered_model_is_its_own_module_with_its_source() -> None:
    assert len(DEVICE_MODELS) == len(SOURCES) == len(MODELS)
    for spec, (source, cls) in zip(DEVICE_MODELS, MODELS.items(), strict=True):
        module, _, name = spec.partition(":")
        assert cls.__module__ == module and cls.__name__ == name
        assert module.startswith("core.config.devices.") and source_of(cls) == source
    # one module per protocol
    assert len({c.__module__ for c in MODELS.values()}) == len(MODELS)


def test_shipped_config_devices_are_the_registered_models() -> None:
    cfg = load_config(ROOT / "config.yaml")
    seen = {d.source for s in cfg.stations for d in s.devices}
    assert seen == set(SOURCES)  # the demo fleet uses every protocol
    for s in cfg.stations:
        for d in s.devices:
            assert type(d) is MODELS[d.source]


def test_unregistered_source_is_refused_with_the_registered_ones_listed() -> None:
    raw = {"id": "s", "kind": "household", "capacity_kw": 3, "owner": "h", "village": "v"}
    raw["devices"] = [{"id": "n1", "source": "lora", "dev_eui": "a", "key_file": "k"}]
    with pytest.raises(ValidationError) as exc:
        Station.model_validate(raw)
    (err,) = exc.value.errors()
    assert err["type"] == "union_tag_invalid"
    assert all(repr(s) in err["msg"] for s in SOURCES)


def test_a_new_protocol_is_one_more_registry_line() -> None:
    models = load_models((*DEVICE_MODELS, LORA))
    assert tuple(models) == (*SOURCES, "lora")
    adapter = TypeAdapter(device_union(models.values()))
    node = adapter.validate_python(
        {"id": "n1", "source": "lora", "dev_eui": "70B3D5", "key_file": "keys/n1"}
    )
    assert isinstance(node, LoraDevice) and node.interval_s == 30  # the common keys
    tcp = adapter.validate_python({"id": "t", "source": "modbus-tcp", "host": "h", "map": "m"})
    assert type(tcp) is MODELS["modbus-tcp"]


def test_two_models_for_one_source_are_refused() -> None:
    with pytest.raises(TypeError, match="both take source 'mqtt'"):
        load_models((*DEVICE_MODELS, "core.config.devices.mqtt:MqttDevice"))


def test_loader_checks_a_new_protocol_through_its_hooks(tmp_path: Path) -> None:
    """Claims and path keys of a model the loader has never heard of are checked."""

    def station(i: int, eui: str) -> Station:
        node = LoraDevice(id=f"n{i}", source="lora", dev_eui=eui, key_file=f"../k{i}")
        # model_construct: Station's own union does not know this protocol
        return Station.model_construct(
            id=f"s{i}",
            kind="village",
            capacity_kw=1.0,
            owner="v1",
            village="v1",
            tariff_class=None,
            devices=[node],
        )

    stations = [(0, station(0, "70B3D5")), (1, station(1, "70B3D5")), (2, station(2, "FFFF"))]
    col = ProblemCollector(YamlSource(tmp_path / "config.yaml", {}))
    villages = [(0, Village(id="v1", name="V1"))]
    reference_problems(col, villages, [], [], stations, [], None, None, tariffs_whole=False)
    dup = [p for p in col.problems if "dev_eui" in p.where]
    assert [(p.where, p.message, p.fix) for p in dup] == [
        (
            "stations[1].devices[0].dev_eui",
            "dev_eui '70B3D5' already used by 'n0'",
            "give each node its own dev_eui",
        )
    ]
    paths = dict(path_values(None, None, None, stations))
    assert paths == {("stations", i, "devices", 0, "key_file"): f"../k{i}" for i in range(3)}


def test_same_address_and_topic_refused_through_the_models(tmp_path: Path) -> None:
    """What each shipped protocol must not share, end to end through load_config."""
    (tmp_path / "config.yaml").write_text(
        "site: {name: t, latitude: 27.1, longitude: 114.9}\n"
        "villages: [{id: v1, name: V1}]\n"
        "stations:\n"
        "  - {id: sv, kind: village, capacity_kw: 100, owner: v1, village: v1, devices: [\n"
        "      {id: t1, source: modbus-tcp, host: 10.0.0.5, unit: 2, map: m},\n"
        "      {id: t2, source: modbus-tcp, host: 10.0.0.5, unit: 2, map: m},\n"
        "      {id: t3, source: modbus-tcp, host: 10.0.0.5, port: 503, unit: 2, map: m},\n"
        "      {id: r1, source: modbus-rtu, port: /dev/ttyS1, unit: 2, map: m},\n"
        "      {id: r2, source: modbus-rtu, port: /dev/ttyS1, unit: 2, map: m},\n"
        "      {id: q1, source: mqtt, topic: pv/v1/sv},\n"
        "      {id: q2, source: mqtt, topic: pv/v1/sv, account: other}]}\n"
        "tariffs:\n"
        "  - {id: t, applies_to: {kind: village}, shape: fixed-subsidy, from: 2018-01-01,\n"
        '     components: [{name: coal, yuan_per_kwh: "0.4143", payer: grid}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(BadInput) as exc:
        load_config(tmp_path / "config.yaml")
    got = {(p.where, p.line, p.message) for p in exc.value.problems}
    assert (
        "stations[0].devices[1]",
        6,
        "device 't2' has the same address 10.0.0.5:502 unit 2 as 't1' (stations[0].devices[0])",
    ) in got
    assert (
        "stations[0].devices[4]",
        9,
        "device 'r2' has the same address /dev/ttyS1 unit 2 as 'r1' (stations[0].devices[3])",
    ) in got
    assert ("stations[0].devices[6].topic", 11, "topic 'pv/v1/sv' already used by 'q1'") in got
    # another port on the same host is another endpoint; an RTU port is not a TCP one
    clean = ("stations[0].devices[2]", "stations[0].devices[3]")
    assert not any(p.where in clean for p in exc.value.problems)


def test_error_paths_drop_every_registered_source_tag() -> None:
    """pydantic puts the union member in an error's location; none may reach the user."""
    assert set(SOURCES) <= UNION_TAGS


def test_the_loader_names_no_protocol() -> None:
    """Only the protocol's own module spells its source (and the registry its module)."""
    loader = ["load.py", "collect.py", "references.py", "record.py", "paths.py", "__init__.py"]
    for name in loader:
        text = (CONFIG_DIR / name).read_text(encoding="utf-8")
        for source in set(SOURCES) - set(TOP_KEYS):  # "mqtt" is also the broker's section
            assert f'"{source}"' not in text and f"'{source}'" not in text, (name, source)
        for cls in MODELS.values():
            assert cls.__name__ not in text, (name, cls.__name__)


def test_every_device_key_is_documented() -> None:
    """Each key of each registered device model appears as `key` in docs/configuration.md."""
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [
        f"{cls.__name__}.{field.alias or name}"
        for cls in MODELS.values()
        for name, field in cls.model_fields.items()
        if not re.search(rf"`(?:[\w\[\].]*\.)?{re.escape(field.alias or name)}`", text)
    ]
    assert not missing, f"docs/configuration.md does not mention: {missing}"
