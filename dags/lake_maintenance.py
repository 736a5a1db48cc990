"""
### lake_maintenance (story 3: the lake is an Iceberg table the stream writes every checkpoint)

The Flink sink commits a snapshot per checkpoint and a file per checkpoint,
partition and writer: small files by design. Once a day this DAG keeps the
table fast and its directory bounded:

`compact` -> `expire`

- **compact**: Iceberg's `RewriteDataFilesAction` (a bounded Flink job)
  rewrites each partition's small files into files of the target size, in
  one `replace` commit; the rows are the same before and after.
- **expire**: drops snapshots older than the retention (keeping at least
  `retain_last`) and deletes the files only they referenced; the files the
  compaction replaced go when its snapshot expires, on a later run.

Both print the file count and size before and after, measured from the
table's metadata and its directory. Idempotent: a second run on the same
table finds nothing to rewrite and nothing old enough to expire, so a
retried or re-run interval changes nothing. Both commits go through the
catalog's compare-and-swap, so they run beside the stream. Code:
`starlab/lake/maintenance.py`; by hand: `starlab lake maintain`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

DAG_ID = "lake_maintenance"


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("30 2 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["story-3", "lake", "iceberg", "maintenance"],
    params={
        "target_file_mb": Param(
            128, type="integer", minimum=1, description="Target size of a compacted file."
        ),
        "expire_older_than_s": Param(86_400, type="number", minimum=0, description="Keep younger snapshots."),
        "retain_last": Param(20, type="integer", minimum=1, description="Keep at least this many snapshots."),
    },
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=60),
    },
)
def lake_maintenance() -> None:
    @task
    def compact() -> list[str]:
        from starlab.lake.maintenance import MaintenanceOptions, maintain
        from starlab.settings import Settings

        params = get_current_context()["params"]
        options = MaintenanceOptions(compact=True, target_file_mb=int(params["target_file_mb"]), expire=False)
        result = maintain(Settings(), options)
        if not result.rows_unchanged:  # a rewrite must never change the rows; stop before expiry
            raise RuntimeError(
                f"compaction changed the row count: {result.before.rows} -> {result.after.rows}"
            )
        for line in result.lines():
            print(line)
        return result.lines()

    @task
    def expire() -> list[str]:
        from starlab.lake.maintenance import MaintenanceOptions, maintain
        from starlab.settings import Settings

        params = get_current_context()["params"]
        options = MaintenanceOptions(
            compact=False,
            expire=True,
            expire_older_than_s=float(params["expire_older_than_s"]),
            retain_last=int(params["retain_last"]),
        )
        result = maintain(Settings(), options)
        for line in result.lines():
            print(line)
        return result.lines()

    compact() >> expire()


lake_maintenance_dag = lake_maintenance()
