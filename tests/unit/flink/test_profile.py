"""Profile summaries: samples sorted into the job's cost centres, leaf first."""

from __future__ import annotations

from starlab.flink.profile import summarize

STACKS = [
    # the dedup's RocksDB lookup: RocksDB, not "SQL operators", though both are on the stack
    "java/lang/Thread.run_[j];org/apache/flink/table/runtime/operators/deduplicate/"
    "ProcTimeDeduplicateKeepFirstRowFunction.processElement_[j];org/rocksdb/RocksDB.get_[j];"
    "rocksdb::DBImpl::Get_[i] 60",
    "java/lang/Thread.run_[j];org/apache/flink/table/runtime/operators/aggregate/"
    "GroupAggFunction.processElement_[j];GroupAggsHandler$145.accumulate_[j] 25",
    "java/lang/Thread.run_[j];org/apache/iceberg/io/BaseTaskWriter.write_[j];"
    "org/apache/parquet/column/impl/ColumnWriterV1.write_[j] 10",
    "CompileBroker::compiler_thread_loop;C2Compiler::compile_method 5",
    "not a stack line",
    "",
]


def test_every_sample_lands_in_one_category_and_shares_add_up() -> None:
    s = summarize(STACKS)
    assert s.samples == 100
    assert {c.name: c.samples for c in s.categories} == {
        "RocksDB (state)": 60,
        "SQL operators": 25,
        "Iceberg + Parquet write": 10,
        "GC / JIT / VM": 5,
    }
    assert sum(c.pct for c in s.categories) == 100.0
    assert s.category("Avro decode").samples == 0


def test_top_self_frames_are_the_leaves_without_the_kind_suffix() -> None:
    s = summarize(STACKS, top=2)
    assert [(f.name, f.samples) for f in s.top_self] == [
        ("rocksdb::DBImpl::Get", 60),
        ("GroupAggsHandler$145.accumulate", 25),
    ]


def test_operators_take_the_samples_of_their_own_code_nearest_the_leaf() -> None:
    s = summarize(
        [
            # the lake writer chained behind the dedup: the writer's time, not the dedup's
            "Thread.run;org/apache/flink/table/runtime/operators/deduplicate/ProcTimeDeduplicateKeepFirst"
            "RowFunction.processElement;org/apache/iceberg/io/BaseTaskWriter.write 30",
            "Thread.run;ProcTimeDeduplicateKeepFirstRowFunction.processElement;org/rocksdb/RocksDB.get 50",
            "Thread.run;java/lang/Object.wait 20",
        ]
    )
    assert {o.name: o.samples for o in s.operators} == {
        "lake writer and committer (Iceberg)": 30,
        "dedup (keep first per event_id)": 50,
        "other": 20,
    }
