"""Run the schema registry: `python -m starlab.registry [options]`.

Backs story 1 (schema registry with Confluent compatibility modes checked in
CI): this is the process `starlab up` starts next to Kafka. Defaults come from
`starlab.settings` (`STARLAB_SCHEMA_REGISTRY_URL`, `STARLAB_KAFKA_BOOTSTRAP`,
`STARLAB_SCHEMAS_TOPIC`), so the stack manager and clients agree on the address.

Example:
    python -m starlab.registry --host 127.0.0.1 --port 8081 \\
        --bootstrap 127.0.0.1:9092 --topic _schemas

Exit codes: 0 after a clean shutdown, 1 if the store cannot be opened
(Kafka unreachable, topic with more than one partition), 2 for bad options.
"""

from __future__ import annotations

import argparse
import logging
import sys
from urllib.parse import urlsplit

from starlab.errors import StarlabError
from starlab.settings import get_settings

EPILOG = """example:
  python -m starlab.registry --host 127.0.0.1 --port 8081 \\
      --bootstrap 127.0.0.1:9092 --topic _schemas
  python -m starlab.registry --memory --port 18081   # no Kafka, state lost on exit
"""


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    url = urlsplit(settings.schema_registry_url)
    parser = argparse.ArgumentParser(
        prog="python -m starlab.registry",
        description="Confluent-REST-compatible schema registry storing schemas in a compacted Kafka topic.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=url.hostname or "127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=url.port or 8081,
        help="port to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--bootstrap",
        default=settings.kafka_bootstrap,
        help="Kafka bootstrap servers (default: %(default)s)",
    )
    parser.add_argument(
        "--topic",
        default=settings.schemas_topic,
        help="compacted topic holding the schemas (default: %(default)s)",
    )
    parser.add_argument(
        "--replication-factor",
        type=int,
        default=1,
        help="replication factor if the topic must be created (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=30.0,
        help="how long to wait for Kafka on start and per write (default: %(default)s)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="keep schemas in memory only (no Kafka; for throwaway demos)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="log level (default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    import uvicorn

    from starlab.registry.app import create_app
    from starlab.registry.store import KafkaStore, MemoryStore, SchemaStore

    store: SchemaStore
    try:
        if args.memory:
            store = MemoryStore()
        else:
            store = KafkaStore(
                args.bootstrap,
                args.topic,
                replication_factor=args.replication_factor,
                timeout_s=args.timeout_s,
            )
    except StarlabError as exc:
        print(f"starlab registry: {exc}", file=sys.stderr)
        return 1
    uvicorn.run(create_app(store), host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
