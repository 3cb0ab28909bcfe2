"""Each demo run gets its own topics, consumer group and worker state, and leaves none.

Two runs sharing topics would share detector state: an alert still active at
the end of one run resolves at the start of the next, and its cooldown then
swallows the next run's scripted move. So a run works under
``<prefix>demo-<run>.`` topics and ``<app id>-demo-<run>``, and deletes them
(and the worker's RocksDB directory) when it is done. Its Parquet archive has
a root of its own too, and stays: Parquet file names carry the Kafka partition
and offsets, which restart at 0 in a new run's topics, so two runs writing one
tree would take each other's files for their own already-written ones.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from app.settings import Settings


@dataclass(frozen=True)
class RunNamespace:
    run: str
    topic_prefix: str
    app_id: str
    data_dir: Path
    parquet_root: Path

    @classmethod
    def of(cls, base: Settings, run: str, state_root: Path) -> RunNamespace:
        return cls(
            run=run,
            topic_prefix=f"{base.topics.prefix}demo-{run}.",
            app_id=f"{base.app_id}-demo-{run}",
            data_dir=state_root / f"worker-{run}",
            parquet_root=state_root / f"parquet-{run}",
        )

    def env(self) -> dict[str, str]:
        """The variables that put a child process in this namespace."""
        return {
            "MARKETPRISM_TOPICS__PREFIX": self.topic_prefix,
            "MARKETPRISM_APP_ID": self.app_id,
            "MARKETPRISM_STORE__DATA_DIR": str(self.data_dir),
            "MARKETPRISM_PARQUET__ROOT": str(self.parquet_root),
        }

    def owns(self, topic: str) -> bool:
        """The run's data topics, and Faust's changelog and assignor topics of its app."""
        return topic.startswith((self.topic_prefix, f"{self.app_id}-"))

    async def remove(self, bootstrap: list[str]) -> list[str]:
        """Delete the run's topics and worker state; the topics deleted."""
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            doomed = sorted(t for t in await admin.list_topics() if self.owns(t))
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return doomed
