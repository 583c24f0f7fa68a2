"""Mirroring clusters into the database: list, watch, ingest in batches, announce what changed."""
