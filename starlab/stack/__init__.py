"""The embedded local stack: Kafka, schema registry, Redis, PyFlink, Airflow."""
