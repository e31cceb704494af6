"""Readers: pure functions from a landing file to DataFrames plus a load report. No Dagster here."""
