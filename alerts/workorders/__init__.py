"""Work orders: from an alert to a repair the data proves (docs/om.md).

model.py the record and its state machine (pure); deadline.py the deadline clock (pure);
production.py the station's output in time bins against its peers (pure); store.py the
SQLite file (orders, append-only history, caretaker log); evidence.py reads the bins from
the store; loop.py opens, escalates, verifies and reopens inside the alert engine's step.
"""
