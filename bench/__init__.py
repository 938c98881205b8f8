"""Benchmarks: build and read 837P files (``python -m bench``; see bench/README.md)."""
