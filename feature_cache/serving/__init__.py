"""Serving side of the 004 story: design A's fan-out and the building blocks of design B.

- `fanout`: design A, a synchronous parallel fan-out to the four
  dependencies with timeouts, stamina retries and an overall deadline;
- `breaker`: the circuit breaker (purgatory) around B's on-demand call;
- `limits`: rate limiting of low-value request types (limits, moving window);
- `guardrail`: the auto-rollback watch (p95 > 250 ms or failures > 0.5%);
- `reliability`: the story's formulas (prod(a_i), B's success, weighted
  latency, cost per month, the p95 of a max).

This package imports nothing itself; import from the modules.
"""
