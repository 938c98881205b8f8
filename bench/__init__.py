"""Benchmarks: build and read 837P files, parse and post 835s (``python -m bench``; see README)."""
