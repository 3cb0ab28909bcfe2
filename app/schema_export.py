"""JSON Schema of every public topic (``marketprism schema``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.settings import Settings
from app.topics import TOPIC_MODELS, topic_name


def topic_schemas(settings: Settings) -> dict[str, dict[str, Any]]:
    """``{topic name: JSON Schema of its values}`` as subscribers receive them."""
    schemas: dict[str, dict[str, Any]] = {}
    for data_type, model in TOPIC_MODELS.items():
        name = topic_name(settings.topics, data_type)
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"marketprism:{name}"
        schema["x-kafka-topic"] = name
        schema["x-kafka-key"] = "exchange:symbol (UTF-8)"
        schemas[name] = schema
    return schemas


def write_schemas(settings: Settings, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in topic_schemas(settings).items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
