"""Alerts: the kinds (one module each in kinds/), the snapshot they read, the engine that
runs them, the SQLite lifecycle, delivery and the notifiers. Imports core only.

See docs/alerts.md for what each alert means and what O&M staff should do.
"""
