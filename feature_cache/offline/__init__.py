"""Story 4's offline feature store: append-only history, point-in-time training sets, checks.

Backs the story's "point-in-time correctness (0% leakage on 3 labeled
datasets)", "offline-online consistency error rate (<0.5%)" and "backfill
speed (rows/sec)". Modules: `schema` (groups, types, TTLs), `history` (the
DuckDB table and its writer, the append bench), `asof` (training sets),
`leakage` (the independent check), `datasets` (the 3 labeled datasets),
`consistency` (Redis vs history at an instant), `feast_compare` and
`feast_job` (Feast 0.67 in its own venv on the same data), `pit` (the run),
`evidence` (claims) and `command` (`starlab features pit`).
"""
