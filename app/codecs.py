"""Registers the one MarketPrism JSON codec with Faust.

Values are encoded by :func:`models.codec.encode` and decoded by
:func:`models.codec.decode_any`. A value that cannot be decoded does not
raise inside Faust (which would log and skip it); it arrives at the agent as
:class:`Undecodable` so the agent can dead-letter it with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faust.serializers import codecs

from models.base import Record
from models.codec import decode_any, encode
from models.exceptions import DecodeError

CODEC_NAME = "marketprism"


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A Kafka value that is not a valid MarketPrism record."""

    raw: bytes
    reason: str


class RecordCodec(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, Record):
            return encode(obj)
        raise TypeError(f"{CODEC_NAME} codec encodes MarketPrism records, not {type(obj)!r}")

    def _loads(self, data: bytes) -> Record | Undecodable:
        try:
            return decode_any(data)
        except DecodeError as exc:
            return Undecodable(raw=bytes(data), reason=exc.reason)


def register_codec() -> None:
    """Make ``value_serializer="marketprism"`` available (idempotent)."""
    codecs.register(CODEC_NAME, RecordCodec())
