"""What a transport may raise, in two branches so retries know what to retry.

::

    TransportError
    ├── TransientTransportError   timeouts, resets, a server down: retried with backoff
    └── PermanentTransportError   refused names, permissions, host keys: retrying won't help
"""

from __future__ import annotations


class TransportError(Exception):
    """A file could not be moved to or from a partner."""


class TransientTransportError(TransportError):
    """Worth trying again later."""


class PermanentTransportError(TransportError):
    """Needs a person: configuration, permissions or an unsafe name."""
