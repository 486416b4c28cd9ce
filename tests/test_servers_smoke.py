"""The test servers themselves start, answer and stop."""

import json
import subprocess
import urllib.request

from tests.servers import require_binary


def test_mosquitto_round_trip(mosquitto):
    sub = subprocess.Popen(
        [
            require_binary("mosquitto_sub"),
            "-p",
            str(mosquitto.port),
            "-t",
            "t/x",
            "-C",
            "1",
            "-W",
            "10",
        ],
        stdout=subprocess.PIPE,
    )
    # retained: the subscriber gets it even if it subscribes after the publish
    pub = [require_binary("mosquitto_pub"), "-p", str(mosquitto.port), "-t", "t/x"]
    subprocess.run([*pub, "-m", "hello", "-q", "1", "-r"], check=True)
    out, _ = sub.communicate(timeout=15)
    assert out.strip() == b"hello"


def test_victoriametrics_accepts_influx_line_protocol(victoriametrics):
    req = urllib.request.Request(
        f"{victoriametrics.url}/api/v2/write?bucket=b&org=o",
        data=b"pv,station=s1 power_w=42i 1700000000000000000",
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 204
    victoriametrics.flush()
    url = f"{victoriametrics.url}/api/v1/export?match[]=pv_power_w&start=1690000000&end=1710000000"
    with urllib.request.urlopen(url, timeout=5) as r:
        rows = [json.loads(line) for line in r.read().splitlines()]
    assert rows[0]["values"] == [42]
    assert rows[0]["metric"]["station"] == "s1"
