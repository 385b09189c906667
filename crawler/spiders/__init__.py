"""Spiders: ``sites`` generates one per site module; ``base`` holds the shared class."""
