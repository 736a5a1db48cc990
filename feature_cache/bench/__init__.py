"""Benchmarks of the feature-cache story (004 fan-out story, story 4's serving figures).

- `loadtest`: design A vs design B under the same open-loop traffic and the
  same injected faults (`starlab features loadtest`);
- `regression`: the "QPS doubled, stream lagged, cache thrashed" scenario and
  the mitigations one at a time (`starlab features regression`);
- `bench`: the performance ratios of issue 9 in one run (`starlab features bench`);
- `workload`, `stream`, `redis_server`, `rig`, `plots`: what they share (the
  Zipf traffic, the stream that fills Redis, a private redis-server, the
  processes of one run, the figures).

This package imports nothing itself; import from the modules.
"""
