"""Alerts: rule kinds (rules.py), the engine, the SQLite lifecycle and the notifiers.

See docs/alerts.md for what each alert means and what O&M staff should do.
"""
