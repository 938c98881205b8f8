"""A deterministic clearinghouse and payer to run the gateway against (``gateway simulate``).

It reads the 837s the gateway uploads and answers as a real partner would: TA1, 999, 277CA and,
after a configurable delay, balanced 835s with deductibles, coinsurance, copays, denials,
provider-level adjustments and reversals. It answers 270 eligibility inquiries with 271s from its
member table and its own accumulators.
"""

from gateway.simulator.config import SimulatorConfig
from gateway.simulator.serve import Simulator, StepReport, serve

__all__ = ["Simulator", "SimulatorConfig", "StepReport", "serve"]
