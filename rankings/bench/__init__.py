"""Story 2's measurements (`starlab rankings bench`), one module per question.

- `switch`: the API under load while a flip or a rollback happens: p50/p95/p99
  (story: p95 < 200 ms) and every response checked for failure or mixed versions;
- `baseline`: the ranking route's p99 against its constant twin on the same
  server (the route adds about one Redis round trip), and bare Redis round trips;
- `incremental`: an incremental dbt run over one new day vs a full refresh at
  >= 10M events;
- `faults`: an injected bad build the gate must refuse;
- `deferral`: what the deferred features would change, measured offline;
- `run`: all of the above in one run, as a typed `RankingsBench`.
"""
