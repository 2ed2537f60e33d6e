"""One run's tracing: its tracer, the way spans come back (``route``), the receiver
when they come by OTLP, and what a failed step's trace says.

    start      the receiver, on a local engine; said once: which way spans come
    explain    a failed step: the ``blame:`` line, the span tree, the log lines by
               trace id (a short wait for the last batch first)
    spans      everything collected, the smoke's own spans included, every
               service's on the smoke's clock (``clocks``)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from smoke import clock
from smoke.stack.compose import CHAT, WEB
from smoke.stack.state import ServiceState
from smoke.trace import blame, clocks
from smoke.trace.context import BACKGROUND, Tracer
from smoke.trace.receiver import Receiver
from smoke.trace.route import Route
from smoke.trace.spans import Span, from_logs, latest

#: The services whose spans the smoke reads, in the order a request meets them.
TRACED = (WEB, CHAT)


@dataclass(frozen=True)
class Explained:
    """What a failed step's trace says; ``blame`` is None when no span failed."""

    blame: str | None = None
    tree: tuple[str, ...] = ()
    log_lines: tuple[str, ...] = ()
    #: Why there is nothing to say (tracing off, no span came back).
    missing: str | None = None


def _no_answer(request: Span, target: str | None) -> str:
    """A request no span came back for and no answer either. A read that timed out
    had its connection taken: the service it went to held it and sends its span only
    when it ends (no start record)."""
    if request.attr("error.type") == httpx.ReadTimeout.__name__ and target:
        return (
            f"{target} took the connection and gave no answer in "
            f"{request.duration(request.start):.1f} s; no span of it came back (a service "
            "without start records sends its span only when the request ends)"
        )
    return "the request got no answer, so no span"


@dataclass
class Collector:
    tracer: Tracer
    route: Route | None = None
    receiver: Receiver | None = None
    #: Why spans cannot come back this run (e.g. the receiver's port was taken).
    problem: str | None = None
    _log_spans: list[Span] = field(default_factory=list)
    _received: list[Span] = field(default_factory=list)

    def start(self) -> None:
        if not self.tracer.enabled or self.route is None or self.route.mode != "otlp":
            return
        assert self.route.address is not None
        try:
            self.receiver = Receiver(self.route.address, self.route.port, self._started)
        except OSError as exc:
            self.problem = (
                f"no trace: cannot listen on {self.route.address}:{self.route.port} "
                f"({exc.strerror or exc})"
            )

    def _started(self, trace_id: str) -> bool:
        return trace_id in self.tracer.trace_ids

    def describe(self) -> str:
        if not self.tracer.enabled:
            return "trace: off: requests carry no trace context"
        if self.route is None:
            return "trace: context on every request; spans only if the stack sends them to us"
        return f"trace: {self.problem or self.route.describe()}"

    def close(self) -> None:
        """Stop the receiver; what it received stays readable."""
        if self.receiver is not None:
            self._received = self.receiver.spans()
            self.receiver.close()
            self.receiver = None

    @property
    def reads_logs(self) -> bool:
        """Spans come in the services' logs (the log route)."""
        return self.tracer.enabled and self.route is not None and self.route.mode == "log"

    def read_logs(self, logs: str) -> None:
        """Take this run's spans from the span lines of the services' logs."""
        if self.reads_logs:
            wanted = self.tracer.trace_ids
            self._log_spans = [s for s in from_logs(logs) if s.trace_id in wanted]

    def spans(self) -> list[Span]:
        """Every span of the run, each service's on the smoke's clock."""
        found = self._collected()
        return clocks.corrected(found, clocks.offsets(found))

    def clock_offsets(self) -> dict[str, float]:
        """How far each service's clock is off, when its spans show it is."""
        return clocks.offsets(self._collected())

    def _collected(self) -> list[Span]:
        if self.receiver is not None:
            return self.tracer.spans() + latest(self.receiver.spans())
        return self.tracer.spans() + latest(self._received + self._log_spans)

    def trace(self, trace_id: str) -> blame.Trace:
        return blame.Trace([s for s in self.spans() if s.trace_id == trace_id], now=clock.time())

    def explain(
        self,
        step: str,
        logs: Callable[[], str] | None,
        state: Callable[[str], ServiceState | None] | None = None,
        addressed: Callable[[str], str | None] | None = None,
    ) -> Explained:
        """A failed step's trace; ``logs`` reads the stack's logs, ``state`` a
        service's container (None: no stack) and ``addressed`` names the service a
        URL goes to."""
        trace_id = self.tracer.trace_of(step)
        if trace_id is None:
            return Explained(
                missing="no trace: tracing is off" if not self.tracer.enabled else None
            )
        if self.receiver is not None:
            self.receiver.settle(self._answer_sent(trace_id))
        text = ""
        if logs is not None:
            try:
                text = logs()
            except Exception:  # evidence is best effort
                text = ""
            self.read_logs(text)
        trace = self.trace(trace_id)
        request = trace.failing_request()
        if request is None:
            return Explained(missing=f"no trace: step made no request (trace {trace_id})")
        said = blame.blame(trace, request)
        if not trace.reached_services(request) and said is None:
            target = addressed(str(request.attr("url.full") or "")) if addressed else None
            if request.http_status is None:  # no answer: no service may have seen it
                return Explained(missing=f"no trace: {_no_answer(request, target)}")
            return Explained(missing=f"no trace: {self._why_no_span(state, target)}")
        return Explained(
            blame=said,
            tree=tuple(blame.tree_lines(trace, request)),
            log_lines=tuple(blame.request_log_lines(text, trace, request)),
        )

    def _answer_sent(self, trace_id: str) -> Callable[[list[Span]], bool] | None:
        """What shows the spans of the request a failed step is explained by have come:
        the ended span of the service that answered it. None: no service answered, no
        span to wait for."""
        mine = [span for span in self.tracer.spans() if span.trace_id == trace_id]
        request = blame.Trace(mine, now=clock.time()).failing_request()
        if request is None or request.http_status is None:
            return None
        answered = request.span_id
        return lambda spans: any(s.parent_id == answered and s.end is not None for s in spans)

    def _why_no_span(
        self, state: Callable[[str], ServiceState | None] | None, target: str | None
    ) -> str:
        """Why the failing request has no span from the stack: which service sent
        none all run and where it sends them, or that they did, but not for it. Only
        the service the request went to and those behind it are suspects."""
        if self.problem:
            return self.problem
        suspects = TRACED[TRACED.index(target) :] if target in TRACED else TRACED
        heard = {span.service for span in self._collected()}
        silent = [service for service in suspects if service not in heard]
        if not silent:
            return (
                f"{' and '.join(suspects)} sent spans this run, none for this request "
                "(it reached no traced service, or its span was still open when the step ended)"
            )
        reasons = {service: self._elsewhere(service, state) for service in silent}
        if len(set(reasons.values())) == 1:  # one reason for all: said once
            return f"{' and '.join(silent)} sent no span all run{reasons[silent[0]]}"
        return "; ".join(f"{service} sent no span all run{why}" for service, why in reasons.items())

    def _elsewhere(self, service: str, state: Callable[[str], ServiceState | None] | None) -> str:
        """Where ``service`` sends its spans, when that is not where this run reads them."""
        found = state(service) if state is not None and self.route is not None else None
        if found is None or self.route is None:
            return " (tracing off there?)"
        wanted = self.route.compose_env()["SMOKE_TRACE_EXPORT"]
        port = f":{self.route.port}/"
        if found.trace_export == wanted and (wanted == "log" or port in found.trace_endpoint):
            return " (its trace settings are this run's: is tracing off in its code?)"
        sends = (
            f"to {found.trace_endpoint}"
            if found.trace_export == "otlp"
            else f"by {found.trace_export or 'no'} export"
        )
        return (
            f": it sends them {sends}, and this run reads them {self.route.describe_short()}; "
            f"it was started without this run's settings (recreated by hand?): a run without "
            f"--attach recreates it with them"
        )

    def slowest(self, step: str | None = None, *, within: float = 0.0) -> str | None:
        """The slowest request of ``step`` (else of the run), down to its slowest span;
        None when it took less than half of ``within`` seconds (a wait that timed out
        polling: no one request is to blame). A step's background work (``carry``) is
        not the step's: the step did not wait for it."""
        now = clock.time()
        slowest_request: tuple[float, Span, str] | None = None
        for name, trace_id in self.tracer.steps().items():
            if step is not None and name != step:
                continue
            trace = self.trace(trace_id)
            for request in trace.requests():
                if step is not None and request.attr(BACKGROUND):
                    continue
                took = request.duration(now)
                if slowest_request is None or took > slowest_request[0]:
                    slowest_request = (took, request, name)
        if slowest_request is None:
            return None
        took, request, name = slowest_request
        if took < within / 2:
            return None
        return blame.slowest(self.trace(request.trace_id), request, name)
