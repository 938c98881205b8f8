"""Replies from partners (835, 999, TA1, 277CA) turned into what the practice acts on."""
