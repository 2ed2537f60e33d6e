"""Which compose stack a command acts on: its project, its files, compose's own
options (profiles, env files) and the names of extra secrets to mask."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """Which compose stack a command acts on."""

    project: str
    compose_files: tuple[Path, ...]
    #: Env variables whose values are secrets too (--secret), besides the model's own.
    secret_names: tuple[str, ...] = ()
    #: Compose profiles to enable (--compose-profile, else COMPOSE_PROFILES).
    profiles: tuple[str, ...] = ()
    #: Env files, with compose's meaning: given, they replace the default `.env`
    #: (--env-file, else COMPOSE_ENV_FILES).
    env_files: tuple[Path, ...] = ()
