"""Local ports and child processes: find a free port, wait for a listener, stop a child.

Used by `pvledger demo` and by the tests that start real servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time

#: ports this process has handed out: nothing listens on a port between free_port()
#: and the server that binds it, so the kernel may offer the same port again (two of
#: the demo's forty Modbus endpoints once got one port)
_handed_out: set[int] = set()


def _port_slot() -> tuple[int, int]:
    """(i, n) from PVLEDGER_PORT_SLOT="i/n": only ports p with (p // 2) % n == i, so n parallel
    runs on one machine (the test workers) never pick the same port; (0, 1) when unset.
    p // 2, not p: Linux hands bind() even ports and keeps the odd ones for connect()."""
    raw = os.environ.get("PVLEDGER_PORT_SLOT", "")
    i, _, n = raw.partition("/")
    if i.isdigit() and n.isdigit() and 0 <= int(i) < int(n):
        return int(i), int(n)
    return 0, 1


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, never one this process handed out before
    (and in this process's slot, see _port_slot)."""
    slot, slots = _port_slot()
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if (port // 2) % slots == slot and port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_port(port: int, timeout_s: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Block until something accepts on 127.0.0.1:port; TimeoutError after timeout_s [s],
    RuntimeError at once if proc (the server expected to listen) has exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> int | None:
    """SIGTERM, wait, then SIGKILL: never leave a child behind; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode
