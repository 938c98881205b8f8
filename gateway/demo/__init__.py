"""``gateway demo``: the whole cycle on generated claims against the payer simulator."""
