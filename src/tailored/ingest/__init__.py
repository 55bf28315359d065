"""Ingestion: every source's records validated, de-duplicated, stitched and written."""

from tailored.ingest.pipeline import Ingestor, IngestReport, Rejection
from tailored.ingest.sources.files import open_binary
from tailored.ingest.sources.jsonl import read_jsonl
from tailored.ingest.sources.records import (
    SourceError,
    SourceRecord,
    SourceSkip,
    stable_message_id,
)

__all__ = [
    "IngestReport",
    "Ingestor",
    "Rejection",
    "SourceError",
    "SourceRecord",
    "SourceSkip",
    "open_binary",
    "read_jsonl",
    "stable_message_id",
]
