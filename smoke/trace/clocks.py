"""Each service's clock, as its spans tell it, and the spans on the smoke's clock.

A server span lies inside the client span that called it: it cannot start before
its caller sent the request, nor end after the caller had its answer. So every
call the smoke makes (each health try, each proxy call) bounds the called
service's clock offset; a service the smoke does not call (chat, behind web) is
bounded through its caller once the caller's offset is known. Where the bounds
allow no offset the service's clock is taken as right (containers on a local
engine share the host's clock); otherwise the smallest offset the evidence
requires is taken, and the service's spans are shifted back by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from smoke.trace.spans import KIND_CLIENT, KIND_SERVER, SMOKE_SERVICE, Event, Span

#: An offset this large is said: the spans of that service were shifted by it.
SAID_OVER_SECONDS = 1.0
#: Rounds of chaining through callers (smoke → web → chat → …).
_ROUNDS = 4


def offsets(spans: Sequence[Span]) -> dict[str, float]:
    """service -> seconds its clock is ahead of the smoke's (negative: behind); only
    the services whose spans' evidence rules out a right clock."""
    by_id = {span.span_id: span for span in spans}
    known: dict[str, float] = {SMOKE_SERVICE: 0.0}
    for _ in range(_ROUNDS):
        bounds: dict[str, tuple[float, float]] = {}
        for span in spans:
            caller = by_id.get(span.parent_id or "")
            if (
                span.kind != KIND_SERVER
                or span.service in known
                or caller is None
                or caller.kind != KIND_CLIENT
                or caller.service not in known
            ):
                continue
            low, high = _bounds(span, caller, known[caller.service])
            was_low, was_high = bounds.get(span.service, (float("-inf"), float("inf")))
            bounds[span.service] = (max(was_low, low), min(was_high, high))
        if not bounds:
            break
        for service, (low, high) in bounds.items():
            known[service] = _smallest(low, high)
    return {service: ahead for service, ahead in known.items() if ahead != 0.0}


def _bounds(span: Span, caller: Span, caller_ahead: float) -> tuple[float, float]:
    """The offsets that put ``span`` inside ``caller``, on the smoke's clock."""
    sent = caller.start - caller_ahead
    high = span.start - sent  # it started after the request was sent
    low = float("-inf")
    if span.end is not None and caller.end is not None:
        low = span.end - (caller.end - caller_ahead)  # and ended before the answer came
    return low, high


def _smallest(low: float, high: float) -> float:
    """The offset nearest to none that the bounds allow (their middle if they
    contradict each other: a clock that moved during the run)."""
    if low > high:
        return (low + high) / 2
    if low <= 0.0 <= high:
        return 0.0
    return low if low > 0.0 else high


def corrected(spans: Iterable[Span], ahead: Mapping[str, float]) -> list[Span]:
    """The spans with each service's times on the smoke's clock."""
    return [
        _shifted(span, ahead[span.service]) if span.service in ahead else span for span in spans
    ]


def _shifted(span: Span, by: float) -> Span:
    return replace(
        span,
        start=span.start - by,
        end=None if span.end is None else span.end - by,
        events=tuple(Event(e.name, e.at - by, e.attributes) for e in span.events),
    )


def said(ahead: Mapping[str, float]) -> list[str]:
    """A line per service whose clock is off by more than ``SAID_OVER_SECONDS``."""
    return [
        f"{service}'s clock is {abs(by):.1f} s {'ahead' if by > 0 else 'behind'}; "
        "its spans are shifted onto the smoke's clock"
        for service, by in sorted(ahead.items())
        if abs(by) > SAID_OVER_SECONDS
    ]
