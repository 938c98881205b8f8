"""Intake: claim files on disk into checked claim records."""
