"""Compaction and snapshot expiry of one Iceberg table, with Iceberg's own Java actions.

    <flink venv>/bin/python starlab/lake/maintain_main.py --config maintain.json

Runs in the Flink virtual environment, like `starlab/flink/job_main.py`, and
for the same reason imports nothing from starlab (ADR 0002): the launcher
(`starlab/lake/maintenance.py`) writes the catalog properties and the
options into a JSON file, and reads one JSON line back (`MARK_RESULT`).

Why Java: PyIceberg 0.12 has no compaction, and its snapshot expiry only
edits the metadata (the files stay on disk). Iceberg's Flink action
`RewriteDataFilesAction` bin-packs a partition's small files into files of
the target size as a bounded Flink job and commits one `replace` snapshot;
`Table.expireSnapshots()` drops old snapshots and deletes the data and
manifest files no remaining snapshot references. Both commit through the
catalog's compare-and-swap, so they are safe beside a running stream.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

MARK_RESULT = "STARLAB_MAINTENANCE_RESULT"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compact and expire one Iceberg table (Flink venv).")
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    cfg = json.loads(args.config.read_text())

    from pyflink.common import Configuration
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.java_gateway import get_gateway

    conf = Configuration()
    conf.set_string("pipeline.jars", ";".join(f"file://{j}" for j in cfg["jars"]))
    conf.set_string("parallelism.default", str(cfg.get("parallelism", 2)))
    env = StreamExecutionEnvironment.get_execution_environment(conf)
    jvm = get_gateway().jvm

    props = jvm.java.util.HashMap()
    for key, value in cfg["catalog_properties"].items():
        props.put(key, value)
    loader = jvm.org.apache.iceberg.flink.CatalogLoader.custom(
        cfg["catalog_name"],
        props,
        jvm.org.apache.hadoop.conf.Configuration(),
        "org.apache.iceberg.jdbc.JdbcCatalog",
    )
    ident = jvm.org.apache.iceberg.catalog.TableIdentifier.parse(cfg["table"])
    table_loader = jvm.org.apache.iceberg.flink.TableLoader.fromCatalog(loader, ident)
    table_loader.open()
    table = table_loader.loadTable()
    out: dict[str, object] = {}
    try:
        if cfg.get("compact"):
            t0 = time.monotonic()
            # PyFlink's Java environment, not a new one: pipeline.jars reach the rewrite job.
            result = (
                jvm.org.apache.iceberg.flink.actions.Actions.forTable(
                    env._j_stream_execution_environment, table
                )
                .rewriteDataFiles()
                .targetSizeInBytes(int(cfg["target_file_bytes"]))
                # Bin-pack by the files' real sizes. The default counts every file as
                # at least 4 MB (the cost of opening it), so 33 or more small files of
                # one partition filled two 128 MB bins and came out as two files (a
                # demo's fault run left 60 files of 12 KB: 0.72 MB in all -> 2 files).
                .splitOpenFileCost(1)
                .execute()
            )
            out["rewritten_files"] = result.deletedDataFiles().size()
            out["added_files"] = result.addedDataFiles().size()
            out["compact_s"] = round(time.monotonic() - t0, 2)
        if cfg.get("expire"):
            t0 = time.monotonic()
            table.refresh()
            before = len(list(table.snapshots()))
            cutoff_ms = int(time.time() * 1000 - float(cfg["expire_older_than_s"]) * 1000)
            table.expireSnapshots().expireOlderThan(cutoff_ms).retainLast(int(cfg["retain_last"])).commit()
            table.refresh()
            out["expired_snapshots"] = before - len(list(table.snapshots()))
            out["expire_s"] = round(time.monotonic() - t0, 2)
    finally:
        table_loader.close()
    print(f"{MARK_RESULT} {json.dumps(out)}", flush=True)
    return 0


if __name__ == "__main__":
    # Run as a script, this file's directory is sys.path[0]; its sibling
    # modules (errors.py, events.py) must not shadow a library of the same name.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    sys.exit(main())
