"""What `compose up` changes on a kept stack, never hidden: the containers it
recreates (and why) and the orphans it removes, their logs saved before `up`."""

from __future__ import annotations

from pathlib import Path

from smoke.masking import Masker
from smoke.stack.client import edge
from smoke.stack.compose import Stack
from smoke.stack.logs import save_logs
from smoke.stack.state import ServiceState, recreated


def _save_logs_before_up(
    stack: Stack, log_file: Path, before: dict[str, ServiceState]
) -> Path | None:
    """A kept stack's logs (orphans' too), saved beside ``log_file`` before `up` may
    recreate or remove a container and lose them; kept only if it does (see
    ``said_changes``). None if they cannot be read: `up` goes on."""
    path = log_file.with_name(f"{log_file.stem}.before-up{log_file.suffix}")
    services = stack.config().get("services", {})
    orphans = {name: state.container for name, state in before.items() if name not in services}
    return path if save_logs(stack, path, Masker(stack.secrets()), orphans) else None


save_logs_before_up = edge(_save_logs_before_up)  # not @: mutmut skips decorated code


def _said_changes(stack: Stack, before: dict[str, ServiceState], logs: Path | None) -> str:
    """Which containers `up` recreated (and why) or removed; the logs from before are
    kept only then."""
    if not before:
        return ""
    after = stack.states()
    replaced = recreated(before, after)
    # `up --remove-orphans` removes a service's container the file no longer has.
    gone = sorted(name for name in before if name not in after)
    if not replaced and not gone:
        if logs is not None:
            logs.unlink(missing_ok=True)
        return ""
    said = []
    if replaced:
        said.append(
            "recreated: " + ", ".join(f"{n} ({why})" for n, why in sorted(replaced.items()))
        )
    if gone:
        said.append(f"removed: {', '.join(gone)} (not in the compose file)")
    return "; ".join(said) + (f"; their logs from before: {logs}" if logs is not None else "")


said_changes = edge(_said_changes)  # not @: mutmut skips decorated code
