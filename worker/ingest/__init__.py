"""Ingestion: the source registry, one module per source, the polite fetch loop and the store
that upserts every source's records into one Paper row per key."""
