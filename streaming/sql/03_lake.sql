-- The lake: the Iceberg table `lake.events` in the JDBC catalog every reader
-- shares (starlab/lake). The kernel creates the table (schema from the event
-- contract, partitioned by event_date); this job only appends to it.
-- Exactly-once: data files are written as records flow, and the sink's
-- committer adds them to the table in one Iceberg commit when a checkpoint
-- completes, recording the checkpoint id in the snapshot summary; after a
-- crash the restored committer re-commits the files of a checkpoint the
-- table does not have yet and skips those it has, so no row is lost or doubled.
${lake_catalog_ddl};
