"""Readers that turn files into records for the ingest pipeline."""
