"""When the demo's drain stops waiting for the worker, and what it says when it gives up."""

from __future__ import annotations

from app.demo.drain import Drain


def test_a_drain_that_keeps_progressing_waits_as_long_as_it_takes() -> None:
    drain = Drain(started=100.0, stall_seconds=30.0)
    left = 100_000
    now = 100.0
    while left:
        assert drain.observe(now, {"trades": left, "books": 0}) == "draining"
        now, left = now + 1.0, left - 1_000  # 100 s in all, far past the stall limit
    assert drain.observe(now, {"trades": 0, "books": 0}) == "drained"
    assert now - drain.started == 100.0


def test_no_progress_for_the_stall_limit_gives_up_naming_what_is_left() -> None:
    drain = Drain(started=0.0, stall_seconds=30.0)
    assert drain.observe(0.0, {"trades": 500, "books": 40}) == "draining"
    assert drain.observe(10.0, {"trades": 100, "books": 40}) == "draining"
    # more left again (the worker's own analytics), then flat: no new low since t=10
    assert drain.observe(20.0, {"trades": 100, "books": 40, "analytics": 3}) == "draining"
    assert drain.observe(39.0, {"trades": 100, "books": 40}) == "draining"
    assert drain.observe(40.0, {"trades": 100, "books": 40, "alerts": 0}) == "stalled"
    assert drain.incomplete("stalled", 40.0) == (
        "demo: DRAIN INCOMPLETE after 40s (no progress for 30s): 140 records not archived: "
        "books 40, trades 100"
    )
    assert drain.progress(40.0) == (
        "demo: draining: 140 records left (10/s) (Ctrl-C stops waiting)"
    )
    flat = Drain(started=0.0)
    assert flat.observe(0.0, {"trades": 7}) == "draining"
    assert flat.progress(5.0) == "demo: draining: 7 records left (Ctrl-C stops waiting)"
    assert flat.incomplete("interrupted", 5.0) == (
        "demo: DRAIN INCOMPLETE after 5s (Ctrl-C): 7 records not archived: trades 7"
    )


def test_the_timeout_ends_a_drain_that_still_progresses() -> None:
    drain = Drain(started=0.0, timeout=20.0)
    assert drain.observe(0.0, {"trades": 3_000}) == "draining"
    assert drain.observe(19.0, {"trades": 1_100}) == "draining"
    assert drain.observe(20.0, {"trades": 1_000}) == "timed_out"
    assert drain.incomplete("timed_out", 20.0) == (
        "demo: DRAIN INCOMPLETE after 20s (--drain-timeout 20s reached): 1,000 records not "
        "archived: trades 1,000"
    )


def test_nothing_left_at_the_first_look_is_drained_at_once() -> None:
    drain = Drain(started=5.0)
    assert drain.observe(5.0, {"trades": 0}) == "drained"
    assert drain.rate(5.0) is None
