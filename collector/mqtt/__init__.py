"""MQTT ingestion: data loggers publish readings, the gateway stores them (issue 5)."""
