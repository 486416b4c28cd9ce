"""Store-and-forward: the on-disk outbox and the forwarder that drains it (docs/forwarding.md)."""
