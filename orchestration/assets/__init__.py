"""Thin Dagster assets: each calls plain, tested Python (ingest, readers, quality) or dbt."""
