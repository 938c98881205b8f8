"""Domain layer: claim records and the rules they must follow. No X12, no I/O."""
