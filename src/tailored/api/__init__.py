"""The HTTP API: a thin layer over ingest and store."""
