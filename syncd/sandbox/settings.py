"""What the sandbox simulates besides the API itself: the token, the rate limit and faults."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class SandboxSettings:
    """Knobs of the stand-in; mutable while it runs, so tests can switch faults on and off.

    The rates are shares of requests, drawn independently per request from one seeded random
    generator: ``error_rate`` answers 5xx, ``throttle_rate`` answers 429 although budget is
    left, ``drop_rate`` closes the connection without any response.
    """

    token: str = "sandbox"  # noqa: S105 - the stand-in's published default, not a secret
    rate_limit: int = 1667  # requests per window; Intercom's 10,000 a minute in 10 s windows
    window_seconds: float = 10.0
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    max_per_page: int = 150
