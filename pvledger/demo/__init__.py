"""`pvledger demo`: the whole mission on one machine (see pvledger/demo/run.py).

One module per job: run.py (the phases), prepare.py (the working config, the clock and
the month to pay), processes.py (children and the broker), watch.py (the alert events),
report_data.py (what the report and the summary show).
"""

from pvledger.demo.run import STOP_STATION, DemoOptions, run_demo

__all__ = ["STOP_STATION", "DemoOptions", "run_demo"]
