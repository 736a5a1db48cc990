"""The four downstream services of the 004 story as real HTTP services on loopback.

Social graph, embeddings, geo and abuse signals stand for other teams'
systems, so this is the one place starlab simulates: each runs as its own
process with a lognormal latency set by p50/p95 (story: p95 60-90 ms), a
failure rate, a seed, and `POST /control` to inject spikes and outages.

Modules (import from them directly; this package imports nothing, so a
service process does not pay for the launcher's imports):
`config` (ServiceConfig, FleetConfig), `latency` (the p50/p95 -> lognormal
math), `features` (the answers), `control` (fault injection), `server` (the
aiohttp app), `fleet` (DependencyFleet).
"""
