from __future__ import annotations

from decimal import Decimal

from ingest.order_book import BookSide, OrderBook
from models import InstrumentType
from tests.unit.ingest.book_factories import T0, levels


def _book() -> OrderBook:
    book = OrderBook("binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT)
    book.load(
        levels([("99", "1"), ("100", "2"), ("98", "3")]),
        levels([("102", "1"), ("101", "2"), ("103", "0")]),
        sequence=10,
        timestamp=T0,
        collected_at=T0,
    )
    return book


def test_sides_sort_best_first_and_skip_zero_sizes() -> None:
    book = _book()
    assert book.bids.best(5) == levels([("100", "2"), ("99", "1"), ("98", "3")])
    assert book.asks.best(5) == levels([("101", "2"), ("102", "1")])
    assert book.bids.best(1) == levels([("100", "2")])


def test_apply_inserts_updates_and_removes() -> None:
    book = _book()
    book.apply(
        levels([("100", "0"), ("99.5", "4"), ("99", "7"), ("50", "0")]),
        levels([("101", "0"), ("100.5", "1")]),
        sequence=11,
        timestamp=T0,
        collected_at=T0,
    )
    assert book.bids.best(10) == levels([("99.5", "4"), ("99", "7"), ("98", "3")])
    assert book.asks.best(10) == levels([("100.5", "1"), ("102", "1")])
    assert book.sequence == 11
    assert len(book.bids) == 3


def test_removing_an_absent_level_is_a_no_op() -> None:
    side = BookSide(descending=False)
    side.set(Decimal("1"), Decimal("0"))
    side.set(Decimal("2"), Decimal("1"))
    side.set(Decimal("2"), Decimal("0"))
    side.set(Decimal("2"), Decimal("0"))
    assert side.best(5) == []
    assert side.best_price() is None


def test_crossed() -> None:
    book = _book()
    assert not book.crossed()
    book.apply(levels([("101", "1")]), [], sequence=None, timestamp=T0, collected_at=T0)
    assert book.crossed()
    assert book.sequence == 10  # a delta without an id keeps the last one


def test_top_is_a_valid_snapshot_with_the_exchange_digits() -> None:
    book = _book()
    book.apply(levels([("100.10", "0.0500")]), [], sequence=11, timestamp=T0, collected_at=T0)
    top = book.top(2)
    assert top is not None
    assert top.depth == 2
    assert top.sequence == 11
    assert [format(p, "f") for p, _ in top.bids] == ["100.10", "100"]
    assert format(top.bids[0][1], "f") == "0.0500"
    assert top.asks == levels([("101", "2"), ("102", "1")])


def test_top_needs_an_exchange_time() -> None:
    book = OrderBook("binance", "BTC-USDT", "BTCUSDT", InstrumentType.SPOT)
    book.load(levels([("1", "1")]), [], sequence=1, timestamp=None, collected_at=T0)
    assert book.top(5) is None
