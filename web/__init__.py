"""The web application `pvledger serve` (issue 15): Django, configured from config.yaml.

A wiring package like `pvledger`: it may import core, revenue and alerts. Django is
configured in code (web/settings.py) from the loaded Config; web/setup.py starts it.
How to add a page: web/README.md.
"""
