"""Scan results, inspection outcomes, node counters."""
