"""Story 3's RFC: the batch-to-streaming options compared on measured cost (`starlab stream rfc`).

Backs "drafted RFC with two options: (A) Kafka + Flink + Iceberg; (B)
managed streaming + Lambda + Delta. Compared cost, operability, SLA" and the
results "reduced batch compute by 40%; net cost -18% after Kafka costs",
which the RFC puts beside what the model computes. Modules:

- `prices` + `prices.yaml`: unit prices and sizing, each with its source
  (AWS us-east-1 on-demand list prices; option B is modelled from them);
- `measure`: `ResourceMeter` (CPU-seconds, peak RSS, GB-hours of process
  trees, psutil) and `MeasurementSet`, the JSON the RFC is computed from;
- `model`: the story's formula per option, scaled linearly by events, and
  the sensitivity cases;
- `document`: the markdown RFC and the terminal summary;
- `errors`: `RfcInputError`, a one-line `StreamConfigError` (exit 2).

The command itself is `rfc` in `streaming/cli.py`.
"""
