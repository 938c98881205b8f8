"""Follow-up: which claims went silent or are late (the worklist), how much insurers still owe
by age (aging), and which claims to ask payers about (276 inquiries). Everything here is
computed from the ledger's facts at an injected ``now``: tests move time, they never sleep."""
