"""Fire, update, resolve; cooldown, gaps and the daily budget."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.detection.combiner import Assessment
from agents.detection.config import DetectionConfig
from agents.detection.engine import DetectionEngine
from agents.detection.finding import Direction
from agents.detection.lifecycle import AlertLifecycle, AlertState, LifecyclePolicy, Subject
from models import GapEvent, Severity
from tables.tick import SECOND_US, Tick, from_epoch_us
from tests.unit.agents.market import T0_US, detect, market

BTC = "binance:BTC-USDT"
SUBJECT = Subject("binance", "BTC-USDT", 60_000.0, 300.0)


def calm_with_jumps(jumps: dict[float, float], seconds: float = 3000) -> list[tuple[str, Tick]]:
    return market(BTC, seconds=seconds, price=60_000.0, sigma=1e-4, seed=3, jumps=jumps)


def gap_at(second: float, *, resynced: bool = False) -> GapEvent:
    return GapEvent(
        exchange="binance",
        symbol="BTC-USDT",
        channel="book" if resynced else "trades",
        cause="sequence_gap",
        resynced=resynced,
        timestamp=from_epoch_us(T0_US + round(second * SECOND_US)),
    )


def assessment(
    severity: Severity = Severity.HIGH,
    *,
    firing: bool = True,
    sustained: bool = True,
    up: bool = True,
) -> Assessment:
    return Assessment(
        firing=firing,
        sustained=sustained,
        severity=severity,
        confidence=80.0,
        direction=Direction.UP if up else Direction.DOWN,
        reasons=("Price change: +3.00%",) if firing else (),
        findings=(),
        z_score=5.0,
        price_change_pct=3.0,
    )


def at(second: float) -> int:
    return T0_US + round(second * SECOND_US)


def test_one_move_gives_one_alert_fire_updates_resolve() -> None:
    run = detect(calm_with_jumps({1200.0: 0.05}))
    statuses = [a.status.value for a in run.alerts]
    assert statuses[0] == "firing" and statuses[-1] == "resolved"
    assert statuses.count("firing") == 1 and statuses.count("resolved") == 1
    assert set(statuses[1:-1]) <= {"update"}
    assert len({a.alert_id for a in run.alerts}) == 1
    first = run.alerts[0]
    assert first.symbol == "BTC-USDT" and first.severity is Severity.CRITICAL
    assert first.timestamp == datetime(2024, 8, 9, 0, 20, 1, tzinfo=UTC)  # the jump's bucket end
    assert first.price_change_pct is not None and first.z_score is not None and first.z_score > 4
    assert any(r.startswith("Price change") for r in first.reasons)
    assert {f.detector for f in first.findings} >= {"z_score", "pct_change_30s"}


def test_cooldown_swallows_a_second_move_the_same_way() -> None:
    # The first alert resolves about 330 s after its jump; the second jump comes
    # 30 s later, inside the 300 s cooldown.
    run = detect(calm_with_jumps({1200.0: 0.05, 1560.0: 0.05}))
    assert len(run.firing()) == 1
    # One suppressed move, and it does not fire late when the cooldown ends mid-move.
    assert run.states[BTC].suppressed_cooldown == 1


def test_an_alert_just_after_a_gap_is_flagged_with_less_confidence() -> None:
    clean = detect(calm_with_jumps({1200.0: 0.05}, seconds=1300)).firing()
    flagged = detect(calm_with_jumps({1200.0: 0.05}, seconds=1300), gaps=[gap_at(1190)]).firing()
    assert len(clean) == len(flagged) == 1
    assert flagged[0].flags == ["after_gap"] and clean[0].flags == []
    assert flagged[0].confidence == clean[0].confidence / 2


def test_an_alert_below_the_gap_severity_just_after_a_resync_is_suppressed() -> None:
    policy = LifecyclePolicy(gap_min_severity=Severity.CRITICAL)
    engine = DetectionEngine(DetectionConfig(lifecycle=policy))
    ticks = calm_with_jumps({1200.0: 0.005}, seconds=1500)  # about 6 sigma of 1-min returns
    (clean,) = detect(ticks, engine).firing()
    assert clean.severity is not Severity.CRITICAL
    run = detect(ticks, engine, gaps=[gap_at(1190, resynced=True)])
    assert run.firing() == [] and run.states[BTC].suppressed_gap == 1  # not even late
    later = detect(ticks, engine, gaps=[gap_at(1100)])
    assert len(later.firing()) == 1  # the quiet period (60 s) was over


def test_updates_on_escalation_and_heartbeat_then_resolve_after_quiet() -> None:
    life = AlertLifecycle(LifecyclePolicy(update_every_seconds=60, resolve_after_seconds=30))
    state, out = life.step(AlertState(), assessment(Severity.MEDIUM), SUBJECT, at(0))
    assert [a.status.value for a in out] == ["firing"]
    state, out = life.step(state, assessment(Severity.MEDIUM), SUBJECT, at(10))
    assert out == []  # nothing new to say
    state, out = life.step(state, assessment(Severity.CRITICAL), SUBJECT, at(20))
    assert [(a.status.value, a.severity) for a in out] == [("update", Severity.CRITICAL)]
    state, out = life.step(state, assessment(Severity.LOW), SUBJECT, at(85))
    assert [(a.status.value, a.severity) for a in out] == [("update", Severity.CRITICAL)]
    below = assessment(firing=False, sustained=True)
    state, out = life.step(state, below, SUBJECT, at(150))
    assert out == []  # above the hysteresis floor: still on
    state, out = life.step(state, assessment(firing=False, sustained=False), SUBJECT, at(170))
    assert out == []  # quiet for 20 s only
    state, out = life.step(state, None, SUBJECT, at(181))
    assert [a.status.value for a in out] == ["resolved"] and state.active is None
    assert len({a.alert_id for a in out}) == 1


def test_cooldown_is_per_direction() -> None:
    life = AlertLifecycle(LifecyclePolicy(cooldown_seconds=300, resolve_after_seconds=0))
    state, _ = life.step(AlertState(), assessment(), SUBJECT, at(0))
    state, out = life.step(state, None, SUBJECT, at(1))
    assert [a.status.value for a in out] == ["resolved"]
    state, out = life.step(state, assessment(), SUBJECT, at(100))
    assert out == [] and state.suppressed_cooldown == 1
    state, out = life.step(state, assessment(up=False), SUBJECT, at(101))
    assert [a.status.value for a in out] == ["firing"]


def test_cooldown_counts_from_when_the_move_ended_not_from_a_late_resolve() -> None:
    # The data stops mid-alert (a stopped feed, a restarted demo) and comes back 20 min
    # later: the alert resolves then, but its move ended 30 s after its last abnormal
    # step, so a new move in the same direction is news, not inside the cooldown.
    life = AlertLifecycle(LifecyclePolicy(cooldown_seconds=300, resolve_after_seconds=30))
    state, _ = life.step(AlertState(), assessment(), SUBJECT, at(0))
    state, out = life.step(state, None, SUBJECT, at(1200))
    assert [a.status.value for a in out] == ["resolved"]
    assert state.last_resolved_us == at(30)
    state, out = life.step(state, assessment(), SUBJECT, at(1230))
    assert [a.status.value for a in out] == ["firing"] and state.suppressed_cooldown == 0


def test_daily_budget_lets_only_critical_through_and_resets_next_day() -> None:
    policy = LifecyclePolicy(cooldown_seconds=0, resolve_after_seconds=0, daily_budget=1)
    life = AlertLifecycle(policy)
    state, out = life.step(AlertState(), assessment(), SUBJECT, at(0))
    state, _ = life.step(state, None, SUBJECT, at(1))
    state, out = life.step(state, assessment(), SUBJECT, at(2))
    assert out == [] and state.suppressed_budget == 1
    state, out = life.step(state, assessment(Severity.CRITICAL), SUBJECT, at(3))
    assert [a.status.value for a in out] == ["firing"]
    state, _ = life.step(state, None, SUBJECT, at(4))
    state, out = life.step(state, assessment(), SUBJECT, at(86_400))
    assert [a.status.value for a in out] == ["firing"] and state.fired_today == 1


def test_state_round_trips_as_json() -> None:
    life = AlertLifecycle()
    state, _ = life.step(AlertState(), assessment(), SUBJECT, at(0))
    state = life.on_gap(state, gap_at(5, resynced=True))
    assert state.active is not None and state.active.flags == ("after_resync",)
    assert AlertState.from_bytes(state.to_bytes()) == state
    assert AlertState.from_bytes(AlertState().to_bytes()) == AlertState()


def test_engine_keeps_no_state_of_its_own() -> None:
    """Two runs over the same ticks with one engine give the same alerts (replayable)."""
    engine = DetectionEngine()
    ticks = calm_with_jumps({1200.0: 0.05}, seconds=1300)
    first, second = detect(ticks, engine), detect(ticks, engine)
    assert first.alerts == second.alerts and len(first.alerts) >= 1
