"""What can go wrong in a smoke run, as a tree of exceptions.

Each class knows its exit status, so ``smoke.cli`` maps errors to exit codes
in one place. Context is passed as keyword-only arguments and kept as data.

* SmokeError
  * UsageError ................ bad options or arguments (exit 2)
  * EnvironmentProblem ........ the machine cannot run a stack (exit 2)
    * DockerUnreachable
    * ComposeMissing
    * ComposeConfigInvalid
    * EngineAddressUnreachable  a remote engine publishing on its own loopback
    * PortInUse
    * NoStackRunning
    * ProjectInUse ............ another live smoke run owns the project
    * ToolMissing ............. a browser, Playwright or Schemathesis is not installed
    * ImagesMissing ........... --no-build, and this project has not built its images
    * ImageNotOwned ........... a built service's image name other projects can share
    * ServicesMissing ......... the compose file lacks a service the command needs
  * CheckFailed ............... a step of the smoke failed (exit 1)
    * ComposeFailed ........... build or up failed; compose's stderr is kept
    * ComposeTimedOut ......... up did not finish within --timeout
    * ServiceStopped .......... --attach: a service of the running stack is not running
    * ChatHealthTimeout
    * ServiceCrashed .......... the engine says the container exited or crash-loops
    * InitJobFailed ........... a one-shot job exited non-zero, or never finished
    * ServiceNotReady ......... an extra service turned unhealthy, or never got ready
    * Unreachable ............. the engine says it is healthy; the smoke cannot reach it
    * DependencyFailure
    * ProxyCallFailed
      * ProxyCallTimedOut ..... web gave no answer within --timeout
    * ContractDrift
    * PageFailed
    * BrowserCheckFailed
      * BrowserGone ........... the smoke's own browser went away twice under the step
    * PersistenceFailed
    * StackMismatch
    * SemanticMismatch
    * FuzzingFailed
    * DockerCallFailed ........ a docker call a step needed failed unexpectedly
    * InternalError ........... a step met something it did not foresee (a bug)
    * TeardownIncomplete ...... resources of the project are left after the teardown
    * SpecFailed .............. every check passed, but the run's spans broke a trace spec
  * BudgetExceeded ............ a measured cost exceeded its budget (exit 3)
* EngineCallError ............. a docker call nothing expected to fail, as ``stack/``
                                hands it out: command, return code and output kept (exit 1)
* Interrupted (BaseException) . Ctrl-C (130), SIGTERM (143) or SIGHUP (129)
* PortUnavailable ............. internal: a service has no host port yet; waits retry it
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3


class SmokeError(Exception):
    exit_code = EXIT_CHECK_FAILED


class UsageError(SmokeError):
    exit_code = EXIT_USAGE


class EnvironmentProblem(SmokeError):
    """The environment cannot run a stack. ``hint`` says what to do about it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


class DockerUnreachable(EnvironmentProblem):
    pass


class ComposeMissing(EnvironmentProblem):
    pass


class ComposeConfigInvalid(EnvironmentProblem):
    def __init__(self, message: str, *, hint: str, stderr: str) -> None:
        super().__init__(message, hint=hint)
        self.stderr = stderr


class PortInUse(EnvironmentProblem):
    def __init__(self, message: str, *, hint: str, port: int) -> None:
        super().__init__(message, hint=hint)
        self.port = port


class NoStackRunning(EnvironmentProblem):
    pass


class EngineAddressUnreachable(EnvironmentProblem):
    pass


class ProjectInUse(EnvironmentProblem):
    pass


class ToolMissing(EnvironmentProblem):
    pass


class ImagesMissing(EnvironmentProblem):
    pass


class ImageNotOwned(EnvironmentProblem):
    pass


class ServicesMissing(EnvironmentProblem):
    pass


class CheckFailed(SmokeError):
    """A step failed. What was seen and where to look next travel with it."""

    failure_class = "check failed"
    #: Services whose logs explain this failure, shown on the console.
    services: tuple[str, ...] = ("db", "chat", "web")
    hint = "see e2e-compose.log"

    def __init__(
        self,
        message: str,
        *,
        step: str = "",
        elapsed: float = 0.0,
        status: int | None = None,
        body: str | None = None,
        services: tuple[str, ...] | None = None,
        hint: str | None = None,
        timed_out: bool = False,
    ) -> None:
        # step and elapsed are filled in by the step runner that caught it.
        super().__init__(message)
        self.step = step
        self.elapsed = elapsed
        self.status = status
        self.body = body
        #: The step ran out of time (its spans say where the time went).
        self.timed_out = timed_out
        #: The ``blame:`` line from the failing request's trace, once read; else why
        #: the trace says nothing (which service sent no span, and why).
        self.blame: str | None = None
        self.no_trace: str | None = None
        #: The step whose answer this step judged (its trace explains this failure).
        self.judged_step: str | None = None
        if services is not None:
            self.services = services
        if hint is not None:
            self.hint = hint


class ComposeFailed(CheckFailed):
    failure_class = "compose failure"
    hint = "compose could not build or start the stack: its own words follow"

    def __init__(self, message: str, *, return_code: int, stderr: str) -> None:
        super().__init__(message)
        self.return_code = return_code
        self.stderr = stderr


class ComposeTimedOut(CheckFailed):
    failure_class = "compose up timeout"


class ServiceStopped(CheckFailed):
    failure_class = "service stopped"
    hint = "a service of the running stack is not running, and --attach starts nothing"


class ChatHealthTimeout(CheckFailed):
    failure_class = "chat health timeout"
    services = ("chat",)
    hint = "chat did not answer /health with 200 in time; read chat's logs"


class ServiceCrashed(CheckFailed):
    failure_class = "service crashed"
    hint = "the container exits at start; its own last words are in the log lines below"


class InitJobFailed(CheckFailed):
    failure_class = "init job failed"
    hint = (
        "a one-shot job the stack needs (a migration, a seed) failed: its own last "
        "words are in the log lines below"
    )


class ServiceNotReady(CheckFailed):
    failure_class = "service not ready"
    hint = (
        "a service of the compose file never got ready: what the engine and its "
        "healthcheck said is above, its log lines below"
    )


class Unreachable(CheckFailed):
    failure_class = "unreachable from the smoke"
    hint = (
        "the engine reports the service up and healthy, but this machine cannot reach "
        "its published port: set SMOKE_HOST to an address of the engine's host that this "
        "machine reaches, publish there with SMOKE_BIND_ADDRESS, or open the firewall"
    )


class DependencyFailure(CheckFailed):
    failure_class = "chat dependency health (db)"
    services = ("db", "chat")
    hint = (
        "chat cannot serve from db: db not reachable from the chat container, wrong "
        "credentials, or the catalog not seeded; the reason is in chat's answer above"
    )


class ProxyCallFailed(CheckFailed):
    failure_class = "web -> chat proxy call non-200"
    services = ("web", "chat")
    hint = "web's route cannot reach chat, or chat returned an upstream error"


class ProxyCallTimedOut(ProxyCallFailed):
    """No status at all: not a non-200, and nothing says web cannot reach chat."""

    failure_class = "web -> chat proxy call timeout"
    hint = (
        "web gave no answer in time: the blame line names whom it waited on; read "
        "that service's log lines, or allow longer with --timeout"
    )


class ContractDrift(CheckFailed):
    failure_class = "response contract drift"
    services = ("chat", "web")
    hint = (
        "web's consumer and chat's provider disagree on the answer: it breaks the runbook's "
        "rule (a non-empty string 'answer' or 'response') or chat's published schema"
    )


class PageFailed(CheckFailed):
    failure_class = "web page"
    services = ("web",)
    hint = "web did not serve its page at /"


class BrowserCheckFailed(CheckFailed):
    failure_class = "web page (browser)"
    services: tuple[str, ...] = ("web", "chat")
    hint = "web's page fails for a person in a real browser; see the screenshot"


class BrowserGone(BrowserCheckFailed):
    """Chromium itself went away under the step (not a crash of web's page), on a
    fresh browser too: the smoke's environment, not web's page."""

    failure_class = "the smoke's browser went away"
    services = ()
    hint = (
        "Chromium closed under the step twice, not because of web's page: rerun; if it "
        "keeps happening, look at the machine (memory, /dev/shm, something killing it)"
    )


class PersistenceFailed(CheckFailed):
    failure_class = "conversation not persisted"
    services = ("chat", "db")
    hint = "chat answered but the exchange cannot be read back from the db"


class StackMismatch(CheckFailed):
    failure_class = "chat stack mismatch"
    services = ("chat",)
    hint = "chat's image was not built with the requested stack; rebuild with `nox -s build`"


class SemanticMismatch(CheckFailed):
    failure_class = "semantic retrieval"
    services = ("chat",)
    hint = (
        "chat's local stack did not rank by meaning: the model, its vectors in db, "
        "or the similarity floor"
    )


class FuzzingFailed(CheckFailed):
    failure_class = "fuzzing found failures"
    services = ("chat",)
    hint = "Schemathesis printed each failing request as a curl line above; replay it"

    def __init__(
        self, message: str, *, requests: int, server_errors: int, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.requests = requests
        self.server_errors = server_errors


class DockerCallFailed(CheckFailed):
    failure_class = "docker call failed"
    hint = "the engine refused a call this step needed: see its words above, and the engine's log"


class InternalError(CheckFailed):
    """Not a verdict on the stack: the smoke met something it did not foresee. The
    traceback is kept for the log file, never shown on the console."""

    failure_class = "smoke internal error"
    hint = (
        "a bug in the smoke, or an answer it did not foresee: the traceback is at the end "
        "of the log file"
    )

    def __init__(self, message: str, *, traceback: str) -> None:
        super().__init__(message)
        self.traceback = traceback


class TeardownIncomplete(CheckFailed):
    failure_class = "teardown incomplete"
    hint = "remove what is left with `nox -s teardown`, or `docker compose down -v`"


class SpecFailed(CheckFailed):
    failure_class = "trace spec failed"
    services = ()
    hint = (
        "the stack answered well, but what happened inside it broke a trace spec: "
        "read the spans it selected (marked in e2e-report.html); docs/specs.md"
    )


class EngineCallError(Exception):
    """A docker or compose call failed where nothing expected it to: python-on-whales'
    error turned into the smoke's own at the edge of ``stack/``, so no layer above
    names the library. The message is "`docker compose up` exited 1: <stderr's last
    line>"."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str],
        return_code: int,
        stderr: str = "",
        stdout: str = "",
    ) -> None:
        super().__init__(message)
        self.command = tuple(command)
        self.return_code = return_code
        self.stderr = stderr
        self.stdout = stdout


class BudgetExceeded(SmokeError):
    exit_code = EXIT_BUDGET

    def __init__(self, message: str, *, budget: str, measured: float, limit: float) -> None:
        super().__init__(message)
        self.budget = budget
        self.measured = measured
        self.limit = limit


class PortUnavailable(Exception):
    """A service's host port is not known yet (not started, or restarting)."""


class Interrupted(BaseException):
    """The run was interrupted by a signal; the stack was still torn down."""

    def __init__(self, signal_name: str, *, exit_code: int) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = exit_code
