"""Simulated PV fleet: physics, emulated devices on real protocols, faults, history backfill.

``pvledger simulate`` serves every device of the config that names a ``simulate:``
profile; ``simulator.backfill.backfill`` writes the same model's history
into a Store. See docs/simulator.md.
"""
