"""Reading one request's trace: the hop where it broke (``blame:``), its span tree,
where its time went (``slowest:``), and its log lines picked by trace id.

    blame: web 503 ← chat 503 ← db: unavailable for 4.2 s (db host not found)
    blame: web 502 ← web → chat: connection refused (http://chat:9/api/chat)
    blame: web 500 ← chat 500: RuntimeError: catalog index corrupt
    blame: web ← chat: no answer after 3.0 s (its span POST /api/chat never ended)

The chain starts at the first service the request reached and follows, at each
server span, the child that failed, down to the deepest one. A request that got
no answer is blamed on the deepest span still open when the smoke gave up (the
services send each server span once as it starts); without such start records, on
the last service proven to have taken the request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from smoke.trace.context import BACKGROUND, NO_ANSWER
from smoke.trace.spans import KIND_CLIENT, KIND_SERVER, SMOKE_SERVICE, Span, is_span_line

_ERRNO = re.compile(r"^\[Errno -?\d+\]\s*")
#: The socket errors a wrapper's message hides (anyio's "All connection attempts
#: failed"), by the exception type its recorded stack trace names last.
_SOCKET_ERRORS = {
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset",
    "gaierror": "host not found",
    "TimeoutError": "timed out",
}
_RAISED = re.compile(r"^(?:[\w.]+\.)?(\w+Error|gaierror)\b", re.MULTILINE)
#: How many spans of a tree are shown; a long poll would print pages.
MAX_TREE_LINES = 30


class Trace:
    """The spans of one trace, as a tree."""

    def __init__(self, spans: Sequence[Span], *, now: float) -> None:
        self.spans = sorted(spans, key=lambda s: s.start)
        self.now = now
        self._children: dict[str | None, list[Span]] = {}
        ids = {s.span_id for s in self.spans}
        for span in self.spans:
            parent = span.parent_id if span.parent_id in ids else None
            self._children.setdefault(parent, []).append(span)

    def children(self, span: Span | None) -> list[Span]:
        return self._children.get(span.span_id if span else None, [])

    def roots(self) -> list[Span]:
        return self.children(None)

    def requests(self) -> list[Span]:
        """The smoke's requests, in the order made."""
        return [s for s in self.spans if s.service == SMOKE_SERVICE and s.kind == KIND_CLIENT]

    def reached_services(self, request: Span) -> bool:
        return any(s.service != SMOKE_SERVICE for s in self.subtree(request))

    def subtree(self, span: Span) -> list[Span]:
        found = [span]
        for child in self.children(span):
            found += self.subtree(child)
        return found

    def failing_request(self) -> Span | None:
        """The request to explain: the last that failed or got no answer, else the last;
        the step's own requests before those of its background work."""
        every = self.requests()
        requests = [r for r in every if not r.attr(BACKGROUND)] or every
        failed = [r for r in requests if r.failed or r.end is None or (r.http_status or 0) >= 400]
        chosen = failed or requests
        return chosen[-1] if chosen else None


def _error_text(span: Span) -> str:
    event = span.exception
    if event is not None:
        kind = str(event.attributes.get("exception.type") or "error").rsplit(".", 1)[-1]
        message = str(event.attributes.get("exception.message") or "")
        raised = _RAISED.findall(str(event.attributes.get("exception.stacktrace") or ""))
        causes = [_SOCKET_ERRORS[name] for name in raised if name in _SOCKET_ERRORS]
        if causes:
            return causes[-1]
        if _ERRNO.match(message):  # an OS error: its words say it best
            return _ERRNO.sub("", message).lower()
        return f"{kind}: {message}" if message else kind
    if span.message:
        return span.message
    status = span.http_status
    return f"HTTP {status}" if status else "error"


def _server_hop(span: Span) -> str:
    status = span.http_status
    return f"{span.service} {status}" if status else span.service


def _db_state(span: Span) -> str | None:
    reason = span.attr("db.state.reason")
    if reason is None:
        return None
    seconds = span.attr("db.state.unavailable_seconds")
    how_long = f" for {float(seconds):.1f} s" if isinstance(seconds, int | float) else ""
    return f"db: unavailable{how_long} ({reason})"


def _peer(span: Span) -> str:
    url = span.attr("url.full", "http.url")
    host = span.attr("server.address", "net.peer.name")
    return str(url or host or "?")


def _target(span: Span) -> str:
    """Who a client span called: `chat`, or its address."""
    host = span.attr("server.address", "net.peer.name")
    return str(host) if host else "?"


def blame(trace: Trace, request: Span) -> str | None:
    """The ``blame:`` line for ``request``, or None when no service's span failed
    and none held a request that got no answer."""
    if _unanswered(request):
        held = _held(trace, request)
        if held:
            return held
    if not any(s.failed for s in trace.subtree(request) if s.service != SMOKE_SERVICE):
        return None
    hops: list[str] = []
    caller: Span | None = None  # the server span whose call ``node`` is
    node = request
    for _ in range(64):  # a trace is a tree; bounded all the same
        if node.kind == KIND_CLIENT:
            servers = [c for c in trace.children(node) if c.kind == KIND_SERVER]
            if not servers:
                if caller is not None:  # a service's call that no server answered
                    why = caller.attr("error.cause") or _error_text(node)
                    hops.append(f"{node.service} → {_target(node)}: {why} ({_peer(node)})")
                break
            node = servers[-1]
            hops.append(_server_hop(node))
            continue
        failed = [c for c in trace.children(node) if c.failed]
        if failed:
            child = max(failed, key=lambda s: s.start)
            if child.attr("db.system"):
                hops.append(f"db: {_error_text(child)}")
                break
            if child.kind == KIND_CLIENT:
                caller, node = node, child
                continue
            hops[-1] = f"{hops[-1]}: {child.name}: {_error_text(child)}"
            break
        malformed = _malformed_answer(trace, node)
        if malformed:
            hops.append(malformed)
            break
        state = _db_state(node)
        if state:
            hops.append(state)
        elif node.failed and (node.exception or node.message):
            hops[-1] = f"{hops[-1]}: {_error_text(node)}"
        break
    return "blame: " + " ← ".join(hops) if hops else None


def _unanswered(request: Span) -> bool:
    return request.end is None or request.message.startswith(NO_ANSWER)


def _depth(trace: Trace, span: Span) -> int:
    by_id = {s.span_id: s for s in trace.spans}
    depth, node = 0, span
    while node.parent_id in by_id and depth < 64:
        depth, node = depth + 1, by_id[str(node.parent_id)]
    return depth


def _held(trace: Trace, request: Span) -> str | None:
    """Who held a request that got no answer: the deepest span still open when the
    smoke gave up (the longest open among equals), with the hops down to it; else the
    service whose finished spans hang under a span that never came back."""
    until = request.end if request.end is not None else trace.now
    below = [s for s in trace.subtree(request) if s.service != SMOKE_SERVICE]
    still_open = [s for s in below if s.end is None]
    if still_open:
        span = max(still_open, key=lambda s: (_depth(trace, s), -s.start))
        chain = [s.service for s in trace.subtree(request) if s.kind == KIND_SERVER]
        hops = chain[: chain.index(span.service) + 1] if span.service in chain else [span.service]
        took = f"no answer after {max(0.0, until - span.start):.1f} s"
        if span.kind == KIND_CLIENT:  # its call went out and nothing came back
            return (
                f"blame: {' ← '.join(hops)} → {_target(span)}: {took} "
                f"(its call {span.name} {_peer(span)} never came back)"
            )
        under = "" if trace.children(span) else ", no span under it came back"
        return f"blame: {' ← '.join(hops)}: {took} (its span {span.name} never ended{under})"
    orphans = [
        s for s in trace.roots() if s.service != SMOKE_SERVICE and request.start <= s.start <= until
    ]
    if not orphans:
        return None
    holder = orphans[0]
    took = f"{until - request.start:.1f} s"
    status = f" {holder.http_status}" if holder.http_status else ""
    if holder.kind == KIND_SERVER:  # its caller's call never came back
        return (
            f"blame: {holder.service}'s caller: no answer in {took}, though "
            f"{holder.service} answered{status} (the caller's span never came back)"
        )
    return (
        f"blame: {holder.service}: took the request and gave no answer in {took} (its "
        f"span for it never came back; under it: {holder.name} to {_target(holder)}{status})"
    )


#: What a service raises when the answer it got cannot be read: its body cut short,
#: an encoding it does not hold, a body that does not parse.
_UNREADABLE = ("Decod", "JSON", "Protocol", "ReadError", "Incomplete", "Unicode")


def _malformed_answer(trace: Trace, server: Span) -> str | None:
    """A server that failed reading what its call got, while that call and the server
    that answered it both said success: the answer itself broke, so its author is
    named. (A client span ends when the answer's head comes; the body is read after.)"""
    if not server.failed:
        return None
    why = _error_text(server)
    if not any(word in why for word in _UNREADABLE):
        return None
    for call in reversed([c for c in trace.children(server) if c.kind == KIND_CLIENT]):
        answered = [s for s in trace.children(call) if s.kind == KIND_SERVER]
        if (
            call.http_status is not None
            and call.http_status < 400
            and answered
            and (answered[-1].http_status or 200) < 400
        ):
            author = _server_hop(answered[-1])
            return f"{author}: its answer was malformed ({server.service} could not read it: {why})"
    return None


def _line(span: Span, depth: int, now: float) -> str:
    status = span.http_status
    said = [f"{'  ' * depth}{span.service} {span.name}"]
    if status:
        said.append(str(status))
    said.append(
        f"{span.duration(now) * 1000:.0f} ms" + (" (no answer)" if span.end is None else "")
    )
    if span.failed and (span.exception or span.message):
        said.append(_error_text(span))
    elif _db_state(span):
        said.append(str(_db_state(span)))
    statement = span.attr("db.statement")
    if statement:
        said.append(" ".join(str(statement).split())[:80])
    return "  ".join(said)


def tree_lines(trace: Trace, request: Span) -> list[str]:
    """The request's span tree, indented: service, operation, status, duration."""
    lines: list[str] = []

    def walk(span: Span, depth: int) -> None:
        if len(lines) < MAX_TREE_LINES:
            lines.append(_line(span, depth, trace.now))
            for child in trace.children(span):
                walk(child, depth + 1)

    walk(request, 0)
    return lines


def slowest(trace: Trace, request: Span, step: str) -> str:
    """Where ``request``'s time went: down its longest child, to the deepest span.

    ``slowest: chat retrieval 1.84 s of the 2.10 s POST /api/chat/service (web -> chat
    proxy call)``; a request no service answered is named itself."""
    node = request
    for _ in range(64):
        children = trace.children(node)
        if not children:
            break
        node = max(children, key=lambda s: s.duration(trace.now))
    total = request.duration(trace.now)
    what = f"{request.name} ({step})"
    if node is request:
        return f"slowest: {what} {total:.2f} s, no service's span under it"
    took = node.duration(trace.now)
    return f"slowest: {node.service} {node.name} {took:.2f} s of the {total:.2f} s {what}"


def request_log_lines(logs: str, trace: Trace, request: Span) -> list[str]:
    """The log lines of ``request``: its trace id and one of its spans' ids (a step's
    other requests share the trace); span lines left out."""
    mark = f"trace_id={request.trace_id}"
    ids = {f"span_id={span.span_id}" for span in trace.subtree(request)}
    lines = [line for line in logs.splitlines() if mark in line and not is_span_line(line)]
    return [line for line in lines if any(i in line for i in ids)]
