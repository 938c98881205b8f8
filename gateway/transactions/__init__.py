"""Transaction maps: claim records to 837 and back; replies (835, 999, 277CA, TA1) in."""
