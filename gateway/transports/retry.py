"""Retries of one transport operation: transient faults only, backoff with jitter, capped.

Permanent faults (a refused host key, a permission, an unsafe name) are raised at once: trying
again would only hide them from the admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
import tenacity

from gateway.config import RetryConfig
from gateway.transports.errors import TransientTransportError

log = structlog.get_logger("gateway.transport")
T = TypeVar("T")


def call_with_retries(
    func: Callable[[], T],
    retry: RetryConfig,
    *,
    partner: str,
    operation: str,
    sleep: Callable[[float], None] = tenacity.nap.sleep,
) -> T:
    """``func()``, tried up to ``retry.attempts`` times while it raises a transient error."""

    def _log(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "transport_retry", partner=partner, operation=operation,
            attempt=state.attempt_number, error=str(error),
            wait_seconds=round(state.upcoming_sleep, 2),
        )  # fmt: skip

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransientTransportError),
        stop=tenacity.stop_after_attempt(retry.attempts),
        wait=tenacity.wait_random_exponential(multiplier=retry.initial_seconds,
                                              max=retry.max_seconds),
        before_sleep=_log,
        sleep=sleep,
        reraise=True,
    )  # fmt: skip
    return retrying(func)
