"""A move the other way during an alert, and a stronger move during the cooldown."""

from __future__ import annotations

from agents.detection.lifecycle import AlertLifecycle, AlertState, LifecyclePolicy
from models import Severity
from tests.unit.agents.test_lifecycle import SUBJECT, assessment, at

LIFE = AlertLifecycle(LifecyclePolicy(cooldown_seconds=300, resolve_after_seconds=30))


def test_a_reversal_resolves_the_alert_and_fires_a_new_one() -> None:
    state, out = LIFE.step(AlertState(), assessment(Severity.HIGH, up=False), SUBJECT, at(0))
    (down,) = out
    state, out = LIFE.step(state, assessment(Severity.MEDIUM, up=True), SUBJECT, at(5))
    assert [a.status.value for a in out] == ["resolved", "firing"]
    assert out[0].alert_id == down.alert_id and out[1].alert_id != down.alert_id
    assert out[0].reasons == ["Resolved: the price turned the other way (a new alert follows)"]
    assert state.active is not None and state.active.direction == "up"
    # Not firing the other way (only above the hysteresis floor): the alert stays.
    state, out = LIFE.step(state, assessment(up=False, firing=False), SUBJECT, at(10))
    assert out == [] and state.active is not None and state.active.direction == "up"


def test_the_cooldown_lets_a_more_severe_move_through() -> None:
    state, _ = LIFE.step(AlertState(), assessment(Severity.MEDIUM), SUBJECT, at(0))
    state, out = LIFE.step(state, None, SUBJECT, at(31))
    assert [a.status.value for a in out] == ["resolved"] and state.last_rank == 1
    state, out = LIFE.step(state, assessment(Severity.MEDIUM), SUBJECT, at(60))
    assert out == [] and state.suppressed_cooldown == 1  # as severe: the same move
    state, out = LIFE.step(state, assessment(Severity.CRITICAL), SUBJECT, at(70))
    assert [(a.status.value, a.severity) for a in out] == [("firing", Severity.CRITICAL)]
    assert AlertState.from_bytes(state.to_bytes()) == state
