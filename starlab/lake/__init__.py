"""The lake: Iceberg tables in a JDBC catalog, shared by every story.

- `catalog`: where the catalog is, for PyIceberg and for Flink's sink;
- `events`: the events table (schema from the event contract, partitioned by
  event date), batch appends, bulk file commits, deletes by id prefix;
- `read`: a table at a snapshot (its live data files) and the DuckDB view
  dbt reads;
- `maintenance`: compaction and snapshot expiry (Iceberg's Java actions).

Story 3 chose "Kafka + Flink + Iceberg"; see docs/adr/0006-iceberg-lake.md.
"""
