"""Extractors shared by every site module (text helpers, schema.org, Open Graph)."""
