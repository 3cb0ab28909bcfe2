"""The one typed settings tree.

Read from environment variables prefixed ``MARKETPRISM_`` with ``__`` between
nested names, e.g. ``MARKETPRISM_KAFKA__BROKER=kafka://10.0.0.5:9092`` or
``MARKETPRISM_EXCHANGES__BINANCE__SYMBOLS=BTC-USDT,ETH-USDT``. Nothing reads
settings at import time: call :func:`load_settings` and pass the result on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from ingest.options import FeedOptions
from models.exceptions import ConfigError
from models.instrument import Instrument

ENV_PREFIX = "MARKETPRISM_"
ENV_DELIMITER = "__"


def _split_csv(value: Any) -> Any:
    """Accept ``a,b,c`` as well as a JSON list from the environment."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


CsvList = Annotated[list[str], NoDecode]


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(Section):
    broker: str = Field(
        default="kafka://127.0.0.1:9092",
        description="Faust broker URL(s); several brokers separated by ';'",
    )
    client_id: str = "marketprism"
    replication_factor: int = Field(default=1, ge=1)
    producer_linger_ms: int = Field(default=5, ge=0, le=10_000)
    producer_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="zstd", description="bench/compression.py: best ratio and fast on our records"
    )
    producer_acks: Literal[-1, 0, 1] = -1
    producer_buffer: int = Field(
        default=20_000, ge=1, description="records in flight before ingest blocks"
    )
    eager_delivery: bool = Field(
        default=True,
        description="workers hand each consumed record to its streams without Faust's "
        "per-record tasks (app/eager_delivery.py)",
    )

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        for url in value.split(";"):
            scheme, sep, rest = url.partition("://")
            host, _, port = rest.rpartition(":")
            if not sep or scheme != "kafka" or not host or not port.isdigit():
                raise ValueError(f"{url!r} is not of the form kafka://host:port")
        return value

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` list for plain aiokafka clients."""
        return [url.partition("://")[2] for url in self.broker.split(";")]


#: Every data type (one topic each; see ``app.topics.TOPIC_MODELS``).
DATA_TYPES = (
    "trades",
    "tickers",
    "book_snapshots",
    "book_deltas",
    "funding_rates",
    "open_interest",
    "liquidations",
    "analytics",
    "alerts",
    "gaps",
    "dead_letters",
)


class TopicSettings(Section):
    """Topic names (one per data type, never per symbol) and partition counts."""

    prefix: str = Field(default="marketprism.", pattern=r"^[A-Za-z0-9._-]*$")
    partitions: int = Field(default=4, ge=1, le=1024)
    trades: str = "trades"
    tickers: str = "tickers"
    book_snapshots: str = "books"
    book_deltas: str = "book-deltas"
    funding_rates: str = "funding"
    open_interest: str = "open-interest"
    liquidations: str = "liquidations"
    analytics: str = "analytics"
    alerts: str = "alerts"
    gaps: str = "gaps"
    dead_letters: str = "deadletter"
    partitions_by_topic: dict[str, int] = Field(
        default_factory=dict, description="override partitions for a data type, e.g. trades=12"
    )

    @field_validator(*DATA_TYPES)
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not value or len(value) > 200 or not all(c.isalnum() or c in "._-" for c in value):
            raise ValueError(f"{value!r} is not a valid Kafka topic name")
        return value


class StoreSettings(Section):
    data_dir: Path = Field(default=Path("var/worker"), description="Faust data dir (RocksDB)")
    rocksdb_block_cache_mb: int = Field(default=64, ge=8)


class WebSettings(Section):
    enabled: bool = True
    bind: str = "127.0.0.1"
    port: int = Field(default=6066, ge=1, le=65535)


class ExchangeSettings(Section):
    enabled: bool = True
    symbols: CsvList = Field(default_factory=list)
    channels: CsvList = Field(default_factory=lambda: ["trades", "ticker", "book"])
    ws_url: str | None = Field(default=None, description="override (e.g. the simulator)")
    rest_url: str | None = Field(default=None, description="override (e.g. the simulator)")

    _split_symbols = field_validator("symbols", "channels", mode="before")(_split_csv)

    @field_validator("symbols")
    @classmethod
    def _canonical_symbols(cls, value: list[str]) -> list[str]:
        for symbol in value:
            Instrument.parse(symbol)
        return value


def _default_exchanges() -> dict[str, ExchangeSettings]:
    return {
        "binance": ExchangeSettings(symbols=["BTC-USDT", "ETH-USDT"]),
        "binance_futures": ExchangeSettings(
            symbols=["BTC-USDT-PERP", "ETH-USDT-PERP"],
            channels=["trades", "ticker", "book", "funding", "open_interest", "liquidations"],
        ),
        "okx": ExchangeSettings(
            symbols=["BTC-USDT", "ETH-USDT", "BTC-USDT-PERP"],
            channels=["trades", "ticker", "book", "funding", "open_interest", "liquidations"],
        ),
        "deribit": ExchangeSettings(
            symbols=["BTC-USD-PERP", "ETH-USD-PERP"],
            channels=["trades", "ticker", "book", "funding", "open_interest", "liquidations"],
        ),
    }


class PollSettings(Section):
    """REST polling intervals for data with no stream, and when a failing poll makes
    ingest not ready."""

    funding_seconds: float = Field(default=8 * 3600, gt=0)
    open_interest_seconds: float = Field(default=15 * 60, gt=0)
    ready_failures: int = Field(
        default=3, ge=1, description="consecutive failed rounds of a poll that make it not ready"
    )
    ready_stale_intervals: float = Field(
        default=3.0, gt=1, description="intervals without a good round that make it not ready"
    )


class WindowSettings(Section):
    tumbling_seconds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [1.0, 60.0], min_length=1
    )
    hopping_seconds: float = Field(default=300.0, gt=0)
    hopping_step_seconds: float = Field(default=60.0, gt=0)
    detector_view_seconds: float = Field(default=300.0, gt=0)
    grace_seconds: float = Field(default=5.0, ge=0)

    _split = field_validator("tumbling_seconds", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _steps_fit(self) -> Self:
        if any(size <= 0 for size in self.tumbling_seconds):
            raise ValueError("tumbling_seconds must all be positive")
        if self.hopping_step_seconds > self.hopping_seconds:
            raise ValueError("hopping_step_seconds must not exceed hopping_seconds")
        ratio = self.hopping_seconds / self.hopping_step_seconds
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValueError("hopping_seconds must be a whole multiple of hopping_step_seconds")
        return self


class DetectorSettings(Section):
    z_score_threshold: float = Field(default=4.0, gt=0)
    price_change_pct_threshold: float = Field(default=2.0, gt=0)
    ma_deviation_pct_threshold: float = Field(default=1.0, gt=0)
    volume_spike_ratio: float = Field(default=5.0, gt=1)
    min_samples: int = Field(default=30, ge=2)
    cooldown_seconds: float = Field(default=300.0, ge=0)


class ParquetSettings(Section):
    root: Path = Path("var/parquet")
    roll_rows: int = Field(default=200_000, ge=1)
    roll_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    roll_seconds: float = Field(default=60.0, gt=0)
    retention_days: int | None = Field(default=None, ge=1)


class SinkSettings(Section):
    """The worker's Parquet sink agents (one per data type, files under ``parquet.root``)."""

    enabled: bool = True
    data_types: CsvList = Field(
        default_factory=lambda: list(DATA_TYPES), description="data types archived"
    )
    batch_max: int = Field(default=1000, ge=1, description="events taken from a stream at once")
    batch_seconds: float = Field(default=0.2, gt=0, description="... or after this wait")
    flush_interval_seconds: float = Field(
        default=1.0, gt=0, description="how often buffers past their age are written"
    )
    retry_min_seconds: float = Field(default=0.5, gt=0, description="back-off after a failure")
    retry_max_seconds: float = Field(default=30.0, gt=0, description="back-off cap")
    ready_commit_seconds: float | None = Field(
        default=None,
        gt=0,
        description="events waiting this long for a durable commit make /ready fail "
        "(unset: twice parquet.roll_seconds plus 30 s)",
    )
    compaction_enabled: bool = Field(default=True, description="the worker's compaction crontab")
    compaction_cron: str = Field(
        default="5 * * * *",
        description="when it runs (UTC; five fields, or six with seconds last); group leader only",
    )
    compaction_grace_seconds: float = Field(
        default=120.0, ge=0, description="compact hours that ended at least this long ago"
    )

    _split = field_validator("data_types", mode="before")(_split_csv)

    @field_validator("compaction_cron")
    @classmethod
    def _cron_fields(cls, value: str) -> str:
        """The shape only; the expression itself is checked when the worker is built."""
        if len(value.split()) not in (5, 6):
            raise ValueError(f"{value!r} is not a crontab expression of five (or six) fields")
        return value

    @field_validator("data_types")
    @classmethod
    def _known_data_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(DATA_TYPES))
        if unknown:
            raise ValueError(f"unknown data types {unknown}; known: {', '.join(DATA_TYPES)}")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _retry_range(self) -> Self:
        if self.retry_max_seconds < self.retry_min_seconds:
            raise ValueError("retry_max_seconds must not be below retry_min_seconds")
        return self


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False


class IngestSettings(FeedOptions):
    """The collectors' options plus what only the ``marketprism ingest`` process needs."""

    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="/metrics of the ingest process (0: off)"
    )


class Settings(BaseSettings):
    """Everything MarketPrism can be told, with its default."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    app_id: str = Field(default="marketprism", pattern=r"^[A-Za-z0-9._-]+$")
    kafka: KafkaSettings = KafkaSettings()
    topics: TopicSettings = TopicSettings()
    store: StoreSettings = StoreSettings()
    web: WebSettings = WebSettings()
    exchanges: dict[str, ExchangeSettings] = Field(default_factory=_default_exchanges)
    polling: PollSettings = PollSettings()
    ingest: IngestSettings = IngestSettings()
    windows: WindowSettings = WindowSettings()
    detector: DetectorSettings = DetectorSettings()
    parquet: ParquetSettings = ParquetSettings()
    sinks: SinkSettings = SinkSettings()
    log: LogSettings = LogSettings()

    @field_validator("exchanges", mode="before")
    @classmethod
    def _merge_exchange_defaults(cls, value: Any) -> Any:
        """``MARKETPRISM_EXCHANGES__OKX__SYMBOLS=...`` changes OKX only; the other
        venues keep their defaults (disable one with ``..._ENABLED=false``)."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {
            name: defaults.model_dump() for name, defaults in _default_exchanges().items()
        }
        for name, given in value.items():
            if isinstance(given, dict) and name in merged:
                merged[name] = {**merged[name], **given}
            else:
                merged[name] = given
        return merged

    @property
    def enabled_exchanges(self) -> dict[str, ExchangeSettings]:
        return {name: ex for name, ex in self.exchanges.items() if ex.enabled}


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (plus explicit overrides); raise :class:`ConfigError`
    naming the environment variable of every bad value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_errors(exc)) from exc
    except SettingsError as exc:  # a value that is not even parseable (bad JSON)
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"invalid MarketPrism settings: {exc}{cause}") from exc


def env_name(loc: tuple[int | str, ...]) -> str:
    """``("kafka", "broker")`` -> ``MARKETPRISM_KAFKA__BROKER``."""
    return ENV_PREFIX + ENV_DELIMITER.join(str(part).upper() for part in loc)


def describe_errors(exc: ValidationError) -> str:
    lines = ["invalid MarketPrism settings:"]
    for error in exc.errors(include_url=False):
        value = error.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"  {env_name(error['loc'])}: {error['msg']}{shown}")
    return "\n".join(lines)


def env_reference(settings: Settings) -> list[tuple[str, str]]:
    """Every setting as (environment variable, current value as the env would spell it)."""
    rows: list[tuple[str, str]] = []

    def walk(value: Any, loc: tuple[str, ...]) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), (*loc, name))
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            for key, item in value.items():
                walk(item, (*loc, key))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            rows.append((env_name(loc), ",".join(str(v) for v in value)))
        elif isinstance(value, dict):
            rows.append((env_name(loc), json.dumps(value)))
        elif isinstance(value, bool):
            rows.append((env_name(loc), str(value).lower()))
        elif value is None:
            rows.append(("# " + env_name(loc), "(unset)"))
        else:
            rows.append((env_name(loc), str(value)))

    walk(settings, ())
    return rows
