"""Fields every market-data record shares, and the fast way to build market events.

:meth:`MarketEvent.trusted` builds an event without re-running pydantic's
validation when every value is already what validation would produce: the
shared fields come from an :class:`EventSource` validated once per instrument,
and the parser has checked the rest against the same rules
(:class:`~models.numbers.DecimalRule`). The result is the same instance
validation would build (same ``__dict__``, fields set, equality, hash, JSON);
anything it cannot vouch for goes through full validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from inspect import signature
from typing import Any, Self, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.instrument import Instrument, InstrumentType
from models.numbers import UtcDatetime

R = TypeVar("R", bound=BaseModel)

#: Exchange ids are lower-case words: ``binance``, ``binance_futures``, ``okx``, ``deribit``.
EXCHANGE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class Record(BaseModel):
    """Base of every Kafka record: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_timedelta="float")


class SymbolRecord(Record):
    """A record about one instrument on one exchange, keyed ``exchange:symbol``."""

    exchange: str = Field(pattern=EXCHANGE_PATTERN)
    symbol: str = Field(description="canonical symbol, e.g. BTC-USDT or BTC-USDT-PERP")

    @field_validator("symbol")
    @classmethod
    def _canonical(cls, value: str) -> str:
        Instrument.parse(value)
        return value

    @property
    def key(self) -> str:
        """The Kafka key: one symbol's events stay ordered on one partition."""
        return f"{self.exchange}:{self.symbol}"


class MarketEvent(SymbolRecord):
    """An event from an exchange about one instrument.

    ``timestamp`` is the exchange's event time and ``collected_at`` the local
    receive time; both are required and neither stands in for the other.
    """

    native_symbol: str = Field(min_length=1, description="the exchange's own symbol")
    instrument_type: InstrumentType
    timestamp: UtcDatetime = Field(description="exchange event time (UTC)")
    collected_at: UtcDatetime = Field(description="local receive time (UTC)")

    @model_validator(mode="after")
    def _symbol_matches_type(self) -> Self:
        instrument = Instrument.parse(self.symbol)
        if instrument.type is not self.instrument_type:
            raise ValueError(
                f"symbol {self.symbol!r} is a {instrument.type.value} symbol, "
                f"but instrument_type is {self.instrument_type.value!r}"
            )
        return self

    @classmethod
    def trusted(
        cls, source: EventSource, timestamp: datetime, collected_at: datetime, /, **fields: Any
    ) -> Self:
        """``cls(**source.fields, timestamp=..., collected_at=..., **fields)``, without
        re-validating what is already valid.

        The caller vouches that each of ``fields`` is what validating it would give
        (the parsers check wire values with the fields' own rules); defaults,
        default factories and the class's own model validators are applied here.
        Whatever cannot be vouched for (an untrusted source, a time that is not
        aware UTC, a missing or unknown field, a failing model validator) is
        validated in full, so errors read exactly as pydantic's.
        """
        try:
            plan = _PLANS[cls]
        except KeyError:
            plan = _plan(cls)
        if (
            plan is not None
            and source.trusted
            and timestamp.tzinfo is UTC
            and collected_at.tzinfo is UTC
            and type(timestamp) is datetime
            and type(collected_at) is datetime
            and plan.required <= fields.keys()
        ):
            # The template fixes the field order; the source and times have the last word.
            values = {**plan.template, **fields, **source.fields}
            values["timestamp"] = timestamp
            values["collected_at"] = collected_at
            if len(values) == plan.size and (not plan.times or _utc(values, plan.times)):
                for name, factory, takes_data in plan.factories:
                    if name not in fields:
                        values[name] = factory(values) if takes_data else factory()
                record = assemble(cls, values, {*fields, *EVENT_FIELDS})
                try:
                    for check in plan.checks:
                        if check(record) is not record:
                            break
                    else:
                        return record
                except (ValueError, AssertionError):
                    pass  # full validation raises it, worded by pydantic
        return cls(**source.fields, timestamp=timestamp, collected_at=collected_at, **fields)


#: The fields an :class:`EventSource` and the two times provide.
EVENT_FIELDS = frozenset(
    ("exchange", "symbol", "native_symbol", "instrument_type", "timestamp", "collected_at")
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EventSource:
    """One instrument on one exchange: the fields all its events share.

    ``trusted`` when they pass a :class:`MarketEvent`'s validation (they then
    hold the validated values); only then do :meth:`MarketEvent.trusted` events
    of this source skip re-validation. An untrusted source (``trust=False``, or
    values that fail) gets every event fully validated, with pydantic's errors.
    """

    __slots__ = ("exchange", "fields", "instrument_type", "native_symbol", "symbol", "trusted")

    def __init__(
        self,
        exchange: str,
        symbol: str,
        native_symbol: str,
        instrument_type: InstrumentType,
        *,
        trust: bool = True,
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.native_symbol = native_symbol
        self.instrument_type = instrument_type
        self.trusted = False
        if trust:
            try:
                event = MarketEvent(**self._given(), timestamp=_EPOCH, collected_at=_EPOCH)
            except ValidationError:
                pass
            else:
                self.exchange, self.symbol = event.exchange, event.symbol
                self.native_symbol, self.instrument_type = (
                    event.native_symbol,
                    event.instrument_type,
                )
                self.trusted = True
        #: The four fields, in model field order.
        self.fields: dict[str, Any] = self._given()

    def _given(self) -> dict[str, Any]:
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "native_symbol": self.native_symbol,
            "instrument_type": self.instrument_type,
        }

    def __repr__(self) -> str:
        return f"EventSource({self.fields!r}, trusted={self.trusted})"


_REQUIRED: Any = object()  # placeholder of a value the caller or a factory provides
_new = object.__new__
_set = object.__setattr__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def assemble(cls: type[R], values: dict[str, Any], fields_set: set[str]) -> R:
    """An instance of ``cls`` holding ``values`` as its fields, with no validation.

    What ``model_construct`` leaves behind for a model without extras or private
    attributes, for callers that already hold exactly the validated values, every
    field in model order (:meth:`MarketEvent.trusted` and the builders beside the
    models that parsers use on their hot path).
    """
    record = _new(cls)
    _set(record, "__dict__", values)
    _set_fields_set(record, fields_set)
    _set_extra(record, None)
    _set_private(record, None)
    return record


@dataclass(frozen=True)
class _Plan:
    """How :meth:`MarketEvent.trusted` builds one model class."""

    #: Every field in order; defaults filled in, the rest :data:`_REQUIRED`.
    template: dict[str, Any]
    size: int
    #: Fields without a default (other than the event fields).
    required: frozenset[str]
    #: Other UTC timestamp fields: a time in another zone is left to validation.
    times: tuple[str, ...]
    #: ``(field, factory, takes_data)`` for fields with a ``default_factory``, in order.
    factories: tuple[tuple[str, Callable[..., Any], bool], ...]
    #: The class's own ``mode="after"`` model validators (MarketEvent's are proven
    #: by the source).
    checks: tuple[Callable[[Any], Any], ...]


def _utc(values: dict[str, Any], names: tuple[str, ...]) -> bool:
    """True when each of ``names`` is None or an aware UTC datetime."""
    for name in names:
        value = values[name]
        if value is not None and (type(value) is not datetime or value.tzinfo is not UTC):
            return False
    return True


#: The plan of each class; None for a class with validation a plan cannot reproduce.
_PLANS: dict[type[BaseModel], _Plan | None] = {}


def _plan(cls: type[MarketEvent]) -> _Plan | None:
    """The build plan of ``cls``, worked out from its pydantic definition once."""
    decorators = cls.__pydantic_decorators__
    shared = MarketEvent.__pydantic_decorators__.model_validators
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[..., Any], bool]] = []
    usable = not cls.__private_attributes__ and cls.__pydantic_post_init__ is None
    for name, field in cls.model_fields.items():
        template[name] = _REQUIRED
        if field.default_factory is not None:
            takes_data = bool(field.default_factory_takes_validated_data)
            factories.append((name, field.default_factory, takes_data))
        elif not field.is_required():
            template[name] = field.default
            usable &= field.default is None or isinstance(field.default, str | int | Enum)
        usable &= not field.validate_default
    checks = []
    for name, model_validator_ in decorators.model_validators.items():
        usable &= model_validator_.info.mode == "after"
        if name not in shared:
            usable &= len(signature(model_validator_.func).parameters) == 1
            checks.append(model_validator_.func)
    for field_validator_ in decorators.field_validators.values():
        usable &= set(field_validator_.info.fields) <= EVENT_FIELDS
    usable &= not (decorators.root_validators or decorators.validators)
    required = {n for n, f in cls.model_fields.items() if f.is_required()} - EVENT_FIELDS
    times = tuple(
        name
        for name, field in cls.model_fields.items()
        if name not in EVENT_FIELDS
        and (field.annotation is AwareDatetime or field.annotation == UtcDatetime | None)
    )
    plan = _Plan(
        template, len(template), frozenset(required), times, tuple(factories), tuple(checks)
    )
    _PLANS[cls] = plan if usable else None
    return _PLANS[cls]
