"""starlab's schema registry: Confluent's REST API over a compacted Kafka topic.

Backs story 1 (schema registry with Confluent compatibility modes checked in
CI). Confluent's own registry is not on any registry reachable here (its
Maven repository and images are not), so the local stack runs this one; the
docker-compose stack runs `confluentinc/cp-schema-registry` and clients
cannot tell the difference for the calls they make.

Start it with `python -m starlab.registry` (see `starlab/registry/__main__.py`).
"""

from starlab.registry.app import MEDIA_TYPE, RegistryError, SchemaRegistry, create_app
from starlab.registry.store import (
    KafkaStore,
    MemoryStore,
    SchemaStore,
    SchemaVersion,
    StoreError,
    StoreUnavailableError,
)

__all__ = [
    "MEDIA_TYPE",
    "KafkaStore",
    "MemoryStore",
    "RegistryError",
    "SchemaRegistry",
    "SchemaStore",
    "SchemaVersion",
    "StoreError",
    "StoreUnavailableError",
    "create_app",
]
