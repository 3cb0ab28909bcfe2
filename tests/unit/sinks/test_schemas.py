"""Every model has an explicit schema, and exact numbers survive Parquet exactly."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from app.topics import TOPIC_MODELS
from models import Record
from sinks.arrow_batch import to_table
from sinks.durable_file import write_parquet
from sinks.exceptions import PrecisionError
from sinks.schemas import DECIMAL, KAFKA_COLUMNS, SPECS, UTC_US
from tests.unit.models.samples import every_model
from tests.unit.sinks.factories import trade


def test_one_spec_per_topic_with_the_same_model() -> None:
    assert {name: spec.model for name, spec in SPECS.items()} == TOPIC_MODELS


@pytest.mark.parametrize("data_type", sorted(SPECS))
def test_schema_covers_every_model_field(data_type: str) -> None:
    spec = SPECS[data_type]
    fields = [name for name in spec.model.model_fields if name != "type"]
    assert sorted(spec.data_columns) == sorted(fields)
    assert spec.schema.names[-2:] == KAFKA_COLUMNS
    assert spec.schema.field("timestamp").type == UTC_US


def _back_to_model(data_type: str, row: dict[str, Any]) -> Record:
    """A Parquet row -> the model (book levels come back as structs)."""
    values = {k: v for k, v in row.items() if k not in KAFKA_COLUMNS}
    for side in ("bids", "asks"):
        if side in values:
            values[side] = [(level["price"], level["size"]) for level in values[side]]
    return SPECS[data_type].model.model_validate(values)


@pytest.mark.parametrize("data_type", sorted(SPECS))
def test_every_sample_roundtrips_through_parquet(data_type: str, tmp_path: Path) -> None:
    record = every_model()[data_type]
    spec = SPECS[data_type]
    table = to_table(spec, [record], [3], [1234])
    assert table.schema.equals(spec.schema)
    write_parquet(table, tmp_path / "x.parquet")
    back = pq.read_table(tmp_path / "x.parquet", schema=spec.schema)
    row = back.to_pylist()[0]
    assert (row["_partition"], row["_offset"]) == (3, 1234)
    assert _back_to_model(data_type, row) == record


def test_extreme_decimals_fit_exactly(tmp_path: Path) -> None:
    largest = Decimal("999999999999999999.999999999999999999")
    smallest = Decimal("0.000000000000000001")
    records = [trade(1, price=str(largest), quantity=str(smallest))]
    records.append(trade(2, price="61837.63000000", quantity="0.00000100"))
    table = to_table(SPECS["trades"], records, [0, 0], [1, 2])
    write_parquet(table, tmp_path / "t.parquet")
    back = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert back[0]["price"] == largest and back[0]["quantity"] == smallest
    assert back[1]["price"] == Decimal("61837.63") and back[1]["quantity"] == Decimal("0.000001")
    assert pq.read_schema(tmp_path / "t.parquet").field("price").type == DECIMAL


def test_more_than_18_fractional_digits_is_refused_not_rounded() -> None:
    with pytest.raises(ValidationError, match="no more than 18 decimal places"):
        trade(1, quantity="0.0000000000000000001")  # the model refuses it first...
    valid = trade(1)
    too_fine = valid.model_copy(update={"quantity": Decimal("0.0000000000000000001")})
    with pytest.raises(PrecisionError, match=r"trades\.quantity: 1E-19 has more than 18"):
        to_table(SPECS["trades"], [too_fine], [0], [1])  # ...and the sink never rounds


def test_trailing_zeros_beyond_18_digits_are_not_an_error() -> None:
    record = trade(1, quantity="1.50000000000000000000000")
    table = to_table(SPECS["trades"], [record], [0], [1])
    assert table.column("quantity")[0].as_py() == Decimal("1.5")


def test_book_levels_are_a_list_of_price_size_structs() -> None:
    record = every_model()["book_snapshots"]
    table = to_table(SPECS["book_snapshots"], [record], [0], [1])
    assert table.schema.field("bids").type == pa.list_(
        pa.struct([("price", DECIMAL), ("size", DECIMAL)])
    )
    bids = table.column("bids")[0].as_py()
    assert bids[0] == {"price": Decimal("61837.63"), "size": Decimal("3.78826")}


def test_mismatched_kafka_positions_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        to_table(SPECS["trades"], [trade(1)], [0, 0], [1])


def test_a_derived_quote_quantity_past_18_digits_is_rounded_by_the_model() -> None:
    """price x quantity adds the fractional digits of both; the model rounds that derived
    value half-even to 18 places, so the sink can store it."""
    tiny = trade(1, price="0.00000001234", quantity="0.12345678")
    assert tiny.quote_quantity == Decimal("0.000000001523456665")
    table = to_table(SPECS["trades"], [tiny], [0], [1])
    assert table.column("quote_quantity")[0].as_py() == Decimal("0.000000001523456665")
