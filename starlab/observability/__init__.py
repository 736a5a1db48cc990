"""Observability kernel: a typed Prometheus HTTP client and static "show the metric" dashboards."""
