"""Config for the end-to-end alert test: one village, four MQTT-logger households."""

from __future__ import annotations

from pathlib import Path

STATIONS = ["s-hh-1", "s-hh-2", "s-hh-3", "s-hh-4"]


def write(folder: Path, *, mqtt_port: int, webhook_url: str, smtp_port: int, cert: Path) -> Path:
    """config.yaml for the test in folder; returns its path."""
    lines = [
        "site: {name: e2e, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98, "
        "gateway: gw-e2e}",
        "storage: {backend: sqlite, path: data/pv.db}",
        f"mqtt: {{host: 127.0.0.1, port: {mqtt_port}, client_id: e2e-gw}}",
        "villages: [{id: va, name: 东陂村}]",
        "households:",
    ]
    for i, _ in enumerate(STATIONS, 1):
        lines.append(f"  - {{id: hh-{i}, name: 户主{i}, village: va}}")
    lines.append("stations:")
    for i, sid in enumerate(STATIONS, 1):
        lines.append(
            f"  - {{id: {sid}, kind: household, capacity_kw: 3, owner: hh-{i}, village: va, "
            f"devices: [{{id: {sid}-log, source: mqtt, topic: pv/va/{sid}, "
            "simulate: mqtt-logger-3kw, interval_s: 30}]}"
        )
    lines += [
        "tariffs:",
        "  - {id: t-hh, applies_to: {kind: household}, shape: fixed-subsidy, from: 2018-01-01,",
        '     components: [{name: coal, yuan_per_kwh: "0.4143", payer: grid},',
        '                  {name: subsidy, yuan_per_kwh: "0.42", payer: renewable_fund, '
        "subsidy: true, basis: generation}]}",
        "alerts:",
        "  language: en",
        "  evaluate_every_s: 60",
        "  rules:",
        "    - {kind: comm_lost, for_s: 1800}",
        '    - {kind: no_output, for_s: 600, clear_s: 120, peer_min_share: "20"}',
        "    - {kind: device_fault, for_s: 0}",
        "    - {kind: counter_anomaly, for_s: 0}",
        '    - {kind: village_outage, for_s: 600, zero_power_share: "0.2"}',
        "  notify:",
        f"    - {{type: webhook, url: '{webhook_url}', retries: 2, backoff_s: 0.1}}",
        "    - {type: mqtt, topic: pvledger/alerts}",
        f"    - {{type: email, host: 127.0.0.1, port: {smtp_port}, username: om, "
        f"password_env: E2E_SMTP_PASSWORD, ca_file: {cert}, sender: pv@county.test, "
        "to: [om@county.test]}",
    ]
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
