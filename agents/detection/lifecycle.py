"""An alert's life per symbol: fire, update while it lasts, resolve.

* **Hysteresis**: an alert fires when the combined findings fire (strength >= 1)
  and resolves only after ``resolve_after_seconds`` with no price finding above
  the hysteresis floor (``resolve_ratio`` of its threshold).
* **Cooldown**: after it resolves, another move in the same direction within
  ``cooldown_seconds`` of the move's end (its last abnormal step plus
  ``resolve_after_seconds``, however late data came to resolve it) raises
  nothing (counted in ``suppressed_cooldown``) unless it is more severe than the
  alert that resolved.
* **Reversal**: a firing move the other way while an alert is active resolves
  it and fires a new one (a rebound is news, not the same move).
* **Updates**: while active, an update goes out when the severity rises, and
  at most every ``update_every_seconds`` while detectors still fire.
* **Gaps**: for ``gap_quiet_seconds`` after a :class:`~models.GapEvent` of the
  symbol, a new alert carries the flag ``after_gap`` (``after_resync`` for a
  rebuilt book) and half the confidence, and fires only from
  ``gap_min_severity`` up; below it is suppressed and counted.
* **Budget**: with ``daily_budget``, alerts beyond that many per symbol and UTC
  day (event time) fire only from ``budget_bypass_severity`` up.
* A suppressed move stays suppressed (muted) until no price finding is above
  the hysteresis floor, so it never fires late when its cooldown or quiet
  period ends halfway through it; only a move the other way or a rise in
  severity is judged afresh. The ``suppressed_*`` counters count moves.

All times are event time. The state is small, immutable and JSON-able (a
table value per symbol).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson

from agents.detection.combiner import SEVERITY_RANK, Assessment
from models.alert import AlertStatus, PriceAlert, Severity
from models.pipeline_events import GapEvent
from tables.tick import SECOND_US, epoch_us, from_epoch_us

DAY_US = 86_400 * SECOND_US


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    cooldown_seconds: float = 300.0
    resolve_after_seconds: float = 30.0
    update_every_seconds: float = 60.0  #: 0 = updates only when the severity rises
    gap_quiet_seconds: float = 60.0
    gap_min_severity: Severity = Severity.HIGH
    daily_budget: int | None = None
    budget_bypass_severity: Severity = Severity.CRITICAL


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    alert_id: str
    started_us: int
    severity: Severity
    direction: str | None
    last_emit_us: int
    last_abnormal_us: int
    confidence: float
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertState:
    active: ActiveAlert | None = None
    last_resolved_us: int | None = None
    last_direction: str | None = None
    quiet_until_us: int | None = None
    quiet_flag: str | None = None
    muted_rank: int = -1  #: severity rank of a suppressed move still going on; -1: none
    muted_direction: str | None = None
    last_rank: int = -1  #: severity rank of the alert that resolved last
    day: int = 0
    fired_today: int = 0
    suppressed_cooldown: int = 0
    suppressed_gap: int = 0
    suppressed_budget: int = 0

    def to_bytes(self) -> bytes:
        """JSON of every field (orjson writes the dataclasses as ``asdict`` would)."""
        return orjson.dumps(self)

    @classmethod
    def from_bytes(cls, data: bytes) -> AlertState:
        return cls.from_json(orjson.loads(data))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AlertState:
        """From the parsed JSON of :meth:`to_bytes` (``raw`` is consumed)."""
        active = raw.pop("active")
        if active is not None:
            active["severity"] = Severity(active["severity"])
            active["flags"] = tuple(active["flags"])
            active = ActiveAlert(**active)
        return cls(active=active, **raw)


@dataclass(frozen=True, slots=True)
class Subject:
    """What an alert is about (identity and the context fields of the record)."""

    exchange: str
    symbol: str
    price: float
    window_seconds: float


class AlertLifecycle:
    def __init__(self, policy: LifecyclePolicy | None = None) -> None:
        self.policy = policy or LifecyclePolicy()

    def on_gap(self, state: AlertState, gap: GapEvent) -> AlertState:
        """A data gap or book resync of this symbol (``gap.timestamp`` as event time)."""
        flag = "after_resync" if gap.resynced else "after_gap"
        until = epoch_us(gap.timestamp) + round(self.policy.gap_quiet_seconds * SECOND_US)
        if state.quiet_until_us is not None and state.quiet_until_us > until:
            until = state.quiet_until_us
        active = state.active
        if active is not None and flag not in active.flags:
            active = replace(active, flags=(*active.flags, flag))
        return replace(state, quiet_until_us=until, quiet_flag=flag, active=active)

    def step(
        self, state: AlertState, assessment: Assessment | None, subject: Subject, now_us: int
    ) -> tuple[AlertState, list[PriceAlert]]:
        """Advance one symbol's alert with the latest assessment (``None``: nothing seen)."""
        if now_us // DAY_US != state.day:
            state = replace(state, day=now_us // DAY_US, fired_today=0)
        if state.active is not None:
            return self._while_active(state, state.active, assessment, subject, now_us)
        if state.muted_rank >= 0:
            if assessment is None or not assessment.sustained:
                return replace(state, muted_rank=-1, muted_direction=None), []
            if not assessment.firing:
                return state, []
            same = _direction(assessment) == state.muted_direction
            if same and SEVERITY_RANK[assessment.severity] <= state.muted_rank:
                return state, []
            return self._maybe_fire(state, assessment, subject, now_us, counted=same)
        if assessment is None or not assessment.firing:
            return state, []
        return self._maybe_fire(state, assessment, subject, now_us)

    def _maybe_fire(
        self,
        state: AlertState,
        assessment: Assessment,
        subject: Subject,
        now_us: int,
        *,
        counted: bool = False,
    ) -> tuple[AlertState, list[PriceAlert]]:
        policy, rank = self.policy, SEVERITY_RANK[assessment.severity]
        direction = _direction(assessment)
        muted = replace(state, muted_rank=rank, muted_direction=direction)
        more = 0 if counted else 1
        cooldown_us = round(policy.cooldown_seconds * SECOND_US)
        if (
            state.last_resolved_us is not None
            and now_us - state.last_resolved_us < cooldown_us
            and direction == state.last_direction
            and rank <= state.last_rank
        ):
            return replace(muted, suppressed_cooldown=state.suppressed_cooldown + more), []
        flags: tuple[str, ...] = ()
        confidence = assessment.confidence
        if state.quiet_until_us is not None and now_us < state.quiet_until_us:
            if rank < SEVERITY_RANK[policy.gap_min_severity]:
                return replace(muted, suppressed_gap=state.suppressed_gap + more), []
            flags, confidence = (state.quiet_flag or "after_gap",), confidence / 2
        if (
            policy.daily_budget is not None
            and state.fired_today >= policy.daily_budget
            and rank < SEVERITY_RANK[policy.budget_bypass_severity]
        ):
            return replace(muted, suppressed_budget=state.suppressed_budget + more), []
        active = ActiveAlert(
            alert_id=f"{subject.exchange}:{subject.symbol}:{now_us // 1000}",
            started_us=now_us,
            severity=assessment.severity,
            direction=direction,
            last_emit_us=now_us,
            last_abnormal_us=now_us,
            confidence=confidence,
            flags=flags,
        )
        alert = self._record(active, AlertStatus.FIRING, assessment, subject, now_us)
        fired = replace(
            state,
            active=active,
            fired_today=state.fired_today + 1,
            muted_rank=-1,
            muted_direction=None,
        )
        return fired, [alert]

    def _while_active(
        self,
        state: AlertState,
        active: ActiveAlert,
        assessment: Assessment | None,
        subject: Subject,
        now_us: int,
    ) -> tuple[AlertState, list[PriceAlert]]:
        policy = self.policy
        if assessment is not None and assessment.firing and _reverses(active, assessment):
            ended, resolved = self._resolve(state, active, assessment, subject, now_us, REVERSED)
            fired_state, fired = self._maybe_fire(ended, assessment, subject, now_us)
            return fired_state, [*resolved, *fired]
        if assessment is not None and assessment.sustained:
            active = replace(active, last_abnormal_us=now_us)
            due = policy.update_every_seconds > 0 and now_us - active.last_emit_us >= round(
                policy.update_every_seconds * SECOND_US
            )
            rises = SEVERITY_RANK[assessment.severity] > SEVERITY_RANK[active.severity]
            if assessment.firing and (rises or due):
                if rises:
                    active = replace(active, severity=assessment.severity)
                active = replace(active, last_emit_us=now_us, confidence=assessment.confidence)
                alert = self._record(active, AlertStatus.UPDATE, assessment, subject, now_us)
                return replace(state, active=active), [alert]
            return replace(state, active=active), []
        resolve_after_us = round(policy.resolve_after_seconds * SECOND_US)
        if now_us - active.last_abnormal_us < resolve_after_us:
            return state, []
        quiet = f"no detector above its hysteresis floor for {policy.resolve_after_seconds:.0f}s"
        # The move ended once it had been quiet long enough, even if no data came to
        # say so until much later: the cooldown counts from then.
        ended_us = active.last_abnormal_us + resolve_after_us
        return self._resolve(state, active, assessment, subject, now_us, quiet, ended_us)

    def _resolve(
        self,
        state: AlertState,
        active: ActiveAlert,
        assessment: Assessment | None,
        subject: Subject,
        now_us: int,
        why: str,
        ended_us: int | None = None,
    ) -> tuple[AlertState, list[PriceAlert]]:
        """Resolve ``active`` now; the cooldown counts from ``ended_us`` (default: now)."""
        alert = self._record(active, AlertStatus.RESOLVED, assessment, subject, now_us, why)
        resolved = replace(
            state,
            active=None,
            last_resolved_us=now_us if ended_us is None else ended_us,
            last_direction=active.direction,
            last_rank=SEVERITY_RANK[active.severity],
        )
        return resolved, [alert]

    def _record(
        self,
        active: ActiveAlert,
        status: AlertStatus,
        assessment: Assessment | None,
        subject: Subject,
        now_us: int,
        why: str = "",
    ) -> PriceAlert:
        findings = []
        if status is AlertStatus.RESOLVED:
            reasons = [f"Resolved: {why}"]
        elif assessment is not None and assessment.reasons:
            reasons = list(assessment.reasons)
            findings = [finding.to_model() for finding in assessment.findings]
        else:  # pragma: no cover - a firing assessment always has reasons
            reasons = ["abnormal price move"]
        return PriceAlert(
            exchange=subject.exchange,
            symbol=subject.symbol,
            alert_id=active.alert_id,
            status=status,
            timestamp=from_epoch_us(now_us),
            severity=active.severity,
            z_score=None if assessment is None else assessment.z_score,
            price_change_pct=None if assessment is None else assessment.price_change_pct,
            confidence=active.confidence,
            reasons=reasons,
            price=subject.price,
            window_seconds=subject.window_seconds,
            findings=findings,
            flags=list(active.flags),
        )


REVERSED = "the price turned the other way (a new alert follows)"


def _reverses(active: ActiveAlert, assessment: Assessment) -> bool:
    direction = _direction(assessment)
    return None not in (direction, active.direction) and direction != active.direction


def _direction(assessment: Assessment) -> str | None:
    return None if assessment.direction is None else assessment.direction.value
