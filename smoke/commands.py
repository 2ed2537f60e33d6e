"""The maintenance commands: build, logs, teardown."""

from __future__ import annotations

from smoke import clock
from smoke.errors import ComposeFailed
from smoke.masking import Masker, split_lines
from smoke.options import BuildOptions, LogsOptions, TeardownOptions
from smoke.outcome import format_size
from smoke.report.console import Console
from smoke.stack.compose import Stack
from smoke.stack.logs import write_logs
from smoke.stack.teardown import remove_stack
from smoke.words import counted, listed


def build_images(options: BuildOptions, *, console: Console, stack: Stack | None = None) -> None:
    stack = stack or Stack(options.target)
    stack.preflight()
    local = options.install_local_stack
    images = stack.images.built(install_local_stack=local)
    flavour = "local embedding stack" if local else "minimal stack"
    console.line(f"build: {' and '.join(images.values())} (chat: {flavour})")
    started = clock.monotonic()
    try:
        with console.progress("build"):
            stack.build(install_local_stack=local)
            stack.images.remove_replaced()
    except ComposeFailed as failure:
        console.step_done("build", clock.monotonic() - started, passed=False)
        console.detail(str(failure))
        with console.untrusted():
            console.detail("compose said:")
            tail = split_lines(failure.stderr.rstrip("\n"))[-15:]
            console.detail("\n".join(f"  {line}" for line in tail))
        raise
    console.step_done("build", clock.monotonic() - started, passed=True)
    width = max(map(len, images.values()))
    for service, name in images.items():
        size = stack.images.size(service, install_local_stack=local)
        console.line(f"  {name:<{width}} {'size unknown' if size is None else format_size(size)}")


def write_stack_logs(options: LogsOptions, *, console: Console, stack: Stack | None = None) -> None:
    stack = stack or Stack(options.target)
    stack.preflight()
    masker = Masker(stack.secrets())  # reads the compose model: Compose is there
    found = stack.require_running()
    lines = write_logs(stack, options.output, masker)
    console.line(
        f"logs: wrote {lines} lines from {len(found.containers)} containers "
        f"of project {options.target.project} to {options.output}"
    )


def teardown_stack(
    options: TeardownOptions, *, console: Console, stack: Stack | None = None
) -> None:
    stack = stack or Stack(options.target)
    stack.preflight()
    project = options.target.project
    # Whoever ran it, dead or alive, the stack and its mark go.
    removed = remove_stack(stack, describe=True)
    said = [removed.resources.describe()] if removed.resources else []
    said += [f"the run mark ({', '.join(removed.marks)})"] if removed.marks else []
    images = stack.images.remove_all() if options.images else ()
    said += [f"{counted(len(images), 'image')} ({', '.join(images)})"] if images else []
    if said:  # one sentence for all that went
        console.line(f"teardown: removed {listed(said)} of project {project}")
    else:
        nothing = " (no stack, no images)" if options.images else ""
        console.line(f"teardown: nothing to remove for project {project}{nothing}")
