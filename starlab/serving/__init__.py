"""Serving toolkit shared by the stories that serve HTTP (rankings, the feature cache).

- `process.AppServer`: run an ASGI app factory under uvicorn in its own
  process (its own session, stopped by process group), wait for health;
- `load`: a load generator run as a separate process (aiohttp on uvloop),
  closed loop (N requests over C connections) or open loop (a fixed arrival
  rate, latency from the scheduled send time), recording every response and
  an HDR histogram;
- `histogram.LatencyRecorder`: HDR-histogram latency recording and merging;
- `baseline.add_constant_twin`: a same-stack constant endpoint with the very
  parameters and validation of a real route, mounted by a bench (never by the
  production app), so a latency ratio isolates what the real route adds.
"""
