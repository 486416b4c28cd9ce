"""Tools for the web pages' translations (not imported by the running site)."""
