"""core.processes.free_port: distinct ports within a process (the demo maps forty
Modbus endpoints to free ports before any server binds them)."""

from __future__ import annotations

from core.processes import free_port


def test_free_port_never_hands_out_the_same_port_twice() -> None:
    # the kernel picks bind(0) ports at random: a few hundred calls collide now and then
    ports = [free_port() for _ in range(1000)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= p <= 65535 for p in ports)


def test_a_port_slot_keeps_parallel_workers_apart(monkeypatch) -> None:
    monkeypatch.setenv("PVLEDGER_PORT_SLOT", "1/3")
    assert all(free_port() // 2 % 3 == 1 for _ in range(100))
