"""Story 2 ("Meeting a tight deadline"): publish daily rankings blue/green behind a DQ gate.

dbt (dbt_project/) ranks the lake into `marts.rankings_blue` or
`marts.rankings_green`. This package is everything around it that makes the
story's claims true on a real run (docs/rankings.md):

- `publish/`: the cycle (`publisher`: check inputs, `dbt build` into the idle
  color, the DQ gate of dbt tests plus a Great Expectations suite (`gate`),
  flip the flag (`state`), warm the cache, record), `warehouse` (DuckDB
  reads), `results` (what each step returns), and `rollback`;
- `serving/`: versioned Redis keys and the atomic serving pointer (`cache`),
  the FastAPI ranking service (`api`, built by a factory), its launcher;
- `bench/`: the measurements (p95 under a flip, bad responses, the constant
  twin, incremental vs full, an injected bad build, the deferral effect);
- `synth`: recent history for the demo and the bench;
- `cli`, `demo`, `settings`, `errors`, `evidence`: the shape every story has.

Story folders never import each other; this one imports only the kernel.
"""

from starlab.story import Story

STORY = Story(
    name="rankings",
    evidence_id="2-rankings",
    title="lake -> dbt (blue/green) -> DQ gate -> flip -> warm Redis -> API under load",
    order=30,
    cli="rankings.cli:app",
    demo="rankings.demo:run_demo",
    slo="rankings/slo.yaml",
    dashboard="rankings.dashboard:DASHBOARD",
    star="rankings.star:SCRIPTS",
)
