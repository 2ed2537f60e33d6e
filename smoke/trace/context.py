"""The smoke's side of each trace: one trace per step, one span per request.

Every request the smoke makes (probes, the proxy call, the contract fetch, the
browser's page) carries a W3C ``traceparent`` whose trace id is its step's, sampled,
so web and chat record it; the smoke keeps its own spans (the step, each request)
to root the tree and to count what never got an answer.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx

from smoke import clock as clock_module
from smoke.trace.spans import (
    KIND_CLIENT,
    KIND_INTERNAL,
    SMOKE_SERVICE,
    STATUS_ERROR,
    STATUS_OK,
    Span,
)

T = TypeVar("T")
#: The status message of a request that got no answer by its step's end.
NO_ANSWER = "no answer"
#: Marks a request made by a step's background work (``carry``): never the one a
#: failed step is explained by while it is still in flight.
BACKGROUND = "smoke.background"
#: A try a wait made and retried: no error of its step (the report folds it, trace
#: specs leave its subtree out). One mark, set by the wait itself.
RETRIED = "smoke.retried"
#: A span made for requests outside httpx (the browser's page): it ends with its step.
_CARRIER = "smoke.carrier"
_SPAN_KEY = "smoke_span_id"
_MARK_KEY = "smoke_mark_retried"


#: The smoke's own phases of `compose up` (``Tracer.phase``): the build, which the
#: page folds out of its ruler when it dwarfs the run, and compose's create and start.
BUILD_PHASE = "build"
UP_PHASE = "create and start"


def mark_retried(request: httpx.Request) -> None:
    """The wait that made ``request`` is trying again: mark its span a retried try."""
    mark = request.extensions.get(_MARK_KEY)
    if callable(mark):
        mark()


def traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"


@dataclass
class Tracer:
    """Trace ids and the smoke's own spans; ``enabled=False`` (--no-trace) sends no
    header and records nothing."""

    enabled: bool = True
    clock: Callable[[], float] = clock_module.time
    _spans: dict[str, Span] = field(default_factory=dict)
    _step_trace: dict[str, str] = field(default_factory=dict)
    _current: Span | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: A step's span on a thread doing that step's work after it ended (``carry``).
    _carried: threading.local = field(default_factory=threading.local)

    @property
    def trace_ids(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._step_trace.values())

    def trace_of(self, step: str) -> str | None:
        """The trace id of ``step``'s requests, once the step has started."""
        return self._step_trace.get(step)

    def steps(self) -> dict[str, str]:
        return dict(self._step_trace)

    def _step(self, name: str) -> Iterator[None]:
        """Requests made while the step runs belong to its trace (from any thread)."""
        if not self.enabled:
            yield
            return
        root = Span(
            trace_id=secrets.token_hex(16),
            span_id=secrets.token_hex(8),
            parent_id=None,
            service=SMOKE_SERVICE,
            name=name,
            kind=KIND_INTERNAL,
            start=self.clock(),
            end=None,
        )
        with self._lock:
            self._spans[root.span_id] = root
            self._step_trace[name] = root.trace_id
            self._current = root
        failed = True
        try:
            yield
            failed = False
        finally:
            with self._lock:
                ended = self.clock()
                status = STATUS_ERROR if failed else STATUS_OK
                self._spans[root.span_id] = replace(root, end=ended, status=status)
                for span in list(self._spans.values()):
                    if span.parent_id != root.span_id or span.end is not None:
                        continue
                    if span.attributes.get(_CARRIER):  # the page's outcome is its step's
                        self._spans[span.span_id] = replace(span, end=ended, status=status)
                    else:
                        # No answer by the step's end (refused, reset, timed out): its
                        # time so far counts.
                        self._spans[span.span_id] = replace(
                            span, end=ended, status=STATUS_ERROR, message=NO_ANSWER
                        )
                if self._current is root:
                    self._current = None

    step = contextlib.contextmanager(_step)  # not @: mutmut skips decorated code

    def _phase(self, name: str) -> Iterator[None]:
        """A part of the current step the smoke does itself (the build, compose's
        create and start), as a span of its own under the step."""
        span = self._child(name)
        failed = True
        try:
            yield
            failed = False
        finally:
            if span is not None:
                with self._lock:
                    self._spans[span.span_id] = replace(
                        span,
                        kind=KIND_INTERNAL,
                        end=self.clock(),
                        status=STATUS_ERROR if failed else STATUS_OK,
                    )

    phase = contextlib.contextmanager(_phase)  # not @: mutmut skips decorated code

    def carry(self, work: Callable[[], T]) -> Callable[[], T]:
        """``work`` for another thread, its requests in the current step's trace even
        if they run after the step (a step's background fetch)."""
        step = self._current

        def carried() -> T:
            self._carried.step = step
            try:
                return work()
            finally:
                self._carried.step = None

        return carried

    def _child(self, name: str, **attributes: object) -> Span | None:
        with self._lock:
            carried = getattr(self._carried, "step", None)
            step = carried or self._current
            if step is None:
                return None
            if carried is not None:
                attributes[BACKGROUND] = True
            span = Span(
                trace_id=step.trace_id,
                span_id=secrets.token_hex(8),
                parent_id=step.span_id,
                service=SMOKE_SERVICE,
                name=name,
                kind=KIND_CLIENT,
                start=self.clock(),
                end=None,
                attributes=dict(attributes),
            )
            self._spans[span.span_id] = span
            return span

    def headers(self, name: str) -> dict[str, str]:
        """A ``traceparent`` for a request made outside httpx (the browser's page),
        under the current step; empty when there is none."""
        span = self._child(name, **{_CARRIER: True})  # none while no step runs (or off)
        return {"traceparent": traceparent(span.trace_id, span.span_id)} if span else {}

    # -- httpx event hooks ----------------------------------------------------------

    def on_request(self, request: httpx.Request) -> None:
        if not self.enabled:
            return
        span = self._child(
            f"{request.method} {request.url.path}",
            **{"http.request.method": request.method, "url.full": str(request.url)},
        )
        if span is not None:
            request.headers["traceparent"] = traceparent(span.trace_id, span.span_id)
            request.extensions[_SPAN_KEY] = span.span_id
            request.extensions[_MARK_KEY] = lambda: self._mark_retried(span.span_id)

    def on_response(self, response: httpx.Response) -> None:
        span_id = response.request.extensions.get(_SPAN_KEY)
        with self._lock:
            span = self._spans.get(str(span_id))
            if span is None:
                return
            status = response.status_code
            self._spans[span.span_id] = replace(
                span,
                end=self.clock(),
                status=STATUS_ERROR if status >= 500 else STATUS_OK,
                attributes={**span.attributes, "http.response.status_code": status},
            )

    def on_error(self, request: httpx.Request, exc: Exception) -> None:
        """The request got no answer (refused, reset, timed out): its span ends now."""
        span_id = request.extensions.get(_SPAN_KEY)
        with self._lock:
            span = self._spans.get(str(span_id))
            if span is None or span.end is not None:
                return
            said = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._spans[span.span_id] = replace(
                span,
                end=self.clock(),
                status=STATUS_ERROR,
                message=f"{NO_ANSWER}: {said}",
                attributes={**span.attributes, "error.type": type(exc).__name__},
            )

    def _mark_retried(self, span_id: str) -> None:
        with self._lock:
            span = self._spans.get(span_id)
            if span is not None:
                attributes = {**span.attributes, RETRIED: True}
                self._spans[span_id] = replace(span, attributes=attributes)

    def client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        """An httpx client whose every request is traced."""
        return _TracedClient(
            self,
            transport=transport,
            event_hooks={"request": [self.on_request], "response": [self.on_response]},
        )

    def spans(self) -> list[Span]:
        """The smoke's own spans; a request still open has ``end`` None."""
        with self._lock:
            return list(self._spans.values())


class _TracedClient(httpx.Client):
    """httpx's client, telling the tracer of a request that got no answer (httpx's
    event hooks see answers only)."""

    def __init__(self, tracer: Tracer, **options: Any) -> None:
        super().__init__(**options)
        self._tracer = tracer

    def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        try:
            return super().send(request, **options)
        except httpx.TransportError as exc:
            self._tracer.on_error(request, exc)
            raise
