"""EDI gateway for medical and dental practices.

Layers, lowest first (a lower layer never imports a higher one):

- ``gateway.x12``: X12 syntax (delimiters, segments, envelopes); knows no transaction.
- ``gateway.domain``: claim records and their checks; no X12, no I/O.
- ``gateway.transactions``: maps between X12 transactions and the domain (837 out, replies in).
- ``gateway.intake``: reading claim files from disk into domain records.
- ``gateway.cli``: the ``gateway`` command.
"""

__version__ = "0.1.0"
