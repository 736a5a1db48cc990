"""Story 2 ("Meeting a tight deadline"): publish daily rankings blue/green behind a DQ gate.

dbt (dbt_project/) ranks the lake into `marts.rankings_blue` or
`marts.rankings_green`. This package is everything around it that makes the
story's claims true on a real run (docs/rankings.md):

- `publish` (with `state`, `dbt`, `gate`, `warehouse`): pick the idle color,
  `dbt build` into it, run the DQ gate (dbt tests + a Great Expectations
  suite), and only then flip the live flag and warm the cache; `rollback`.
- `cache`: versioned Redis keys and the atomic serving pointer (Lua).
- `api` (with `resp`, `server`): the FastAPI ranking service, Redis only.
- `load`, `bench`, `synth`, `deferral`: the measurements (freshness,
  duplication, p95, bad responses during a flip, cost ratios, the effect of
  the deferred features); `evidence`: the claims next to them.
- `cli`: `starlab rankings run | rollback | status | serve | generate | bench`;
  `demo`: `starlab demo rankings`.

Story folders never import each other; this one imports only the kernel.
"""
