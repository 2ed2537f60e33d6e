"""Nox sessions for contoso-smoke.

`nox` alone runs our own checks (tests, lint). The smoke and its helpers hand their
posargs unchanged to the smoke package, which parses and validates them:

    nox -s smoke_lite -- --keep-stack
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2024.4.15"
# uv when nox has it (`pip install 'nox[uv]'`): venvs made and filled in seconds.
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
SERVICE_REQUIREMENTS = (
    "chat/requirements.txt",
    "chat/requirements-local.txt",
    "web/requirements.txt",
)
# tokenizers without huggingface_hub (chat never talks to a model hub).
NO_DEPS_REQUIREMENTS = ("chat/requirements-local-nodeps.txt",)
# What each image installs, pinned with hashes and valid on Python 3.11 and 3.12
# (`nox -s lock` writes them): a lock file and the requirements it is resolved from.
LOCKS = {
    "web/requirements.lock": ("web/requirements.txt",),
    "chat/requirements.lock": ("chat/requirements.txt",),
    "chat/requirements-local.lock": ("chat/requirements.txt", "chat/requirements-local.txt"),
    "chat/requirements-local-nodeps.lock": ("chat/requirements-local-nodeps.txt",),
    "tools/requirements-uv.lock": ("tools/requirements-uv.txt",),
}
TEST_REQUIREMENTS = (
    "pytest==9.2.0",
    "pytest-timeout==2.4.0",
    "nox[uv]==2026.10.20",
    "pyyaml==6.0.3",
    "zizmor==1.32.0",
    "openapi-spec-validator==0.9.0",
    "pytest-xdist==3.8.0",
    "hypothesis==6.170.27",
    # The tests run `python -m pip` here (the model fetch, the CI workflow's replay); a
    # venv that uv made has no pip of its own.
    "pip==26.3",
)
# The sessions the tests drive as a user would; their venvs are made before the tests
# run side by side, so two workers never build the same venv at once.
SESSIONS_UNDER_TEST = ("smoke", "smoke_lite", "fuzz", "bench")
# Test modules run on three workers, a module per worker at a time (a module's
# fixtures, such as the second engine, exist once), in the order tests/conftest.py
# gives them (longest first), not xdist's (most tests first). Three, on two CPUs: the
# Docker tests wait on containers, and a third worker fills those waits.
PARALLEL = ("-n", "3", "--dist", "loadfile", "--no-loadscope-reorder")
BENCH_REQUIREMENTS = (
    "nox[uv]==2026.10.20",
    "testcontainers==4.15.0",
    "matplotlib==3.11.2",
    "psycopg[binary]==3.3.9",
)
LINT_REQUIREMENTS = (
    "ruff==0.17.6",
    "mypy==2.4.1",
    "nox[uv]==2026.10.20",
    "pytest==9.2.0",
    "types-jsonschema==4.26.0.20261006",
)
MUTMUT_REQUIREMENTS = (
    "mutmut==3.8.1",
    "pytest==9.2.0",
    "pytest-timeout==2.4.0",
    "hypothesis==6.170.27",
)
# Ctrl-C reaches the smoke too; give its teardown time before nox escalates.
INTERRUPT_TIMEOUT_SECONDS = 60.0
TERMINATE_TIMEOUT_SECONDS = 15.0


STAMP = ".contoso-smoke-installed"
# uv installs without bytecode, unlike pip: each process would then compile what it
# imports, and with PYTHONDONTWRITEBYTECODE set (CI machines, containers) every
# process again (python-on-whales and httpx: 0.76 s of CPU to import, not 0.34).
COMPILE_BYTECODE = {"UV_COMPILE_BYTECODE": "1"}
# build, logs and teardown run in smoke_lite's venv: right after a smoke, a cleanup
# builds no environment of its own.
SHARED_VENV = ROOT / ".nox" / "smoke_lite"
SMOKE_LITE_EXTRAS = "contract"


def _digest(args: tuple[str, ...], no_deps: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\0".join((*args, "--no-deps", *no_deps)).encode())
    for name in ("pyproject.toml", *SERVICE_REQUIREMENTS, *NO_DEPS_REQUIREMENTS):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def install(session: nox.Session, *args: str, no_deps: tuple[str, ...] = ()) -> None:
    """Install into the reused venv only when what it asks for has changed.

    The package is installed editable, so code changes need no reinstall and a warm
    session spends its time in the smoke, not in pip.
    """
    stamp = Path(session.virtualenv.location) / STAMP
    if stamp.is_file() and stamp.read_text() == _digest(args, no_deps):
        return
    session.install(*args, env=COMPILE_BYTECODE)
    if no_deps:
        session.install("--no-deps", *no_deps, env=COMPILE_BYTECODE)
    stamp.write_text(_digest(args, no_deps))


def smoke_cli(session: nox.Session, *args: str, extras: str = "contract") -> None:
    install(session, "-e", f".[{extras}]")
    session.run(
        "python",
        "-m",
        "smoke",
        *args,
        *session.posargs,
        interrupt_timeout=INTERRUPT_TIMEOUT_SECONDS,
        terminate_timeout=TERMINATE_TIMEOUT_SECONDS,
    )


@nox.session(default=False)
def smoke(session: nox.Session) -> None:
    """Full smoke: the runbook's steps, web's page in a browser, persistence, the stack."""
    smoke_cli(session, "run", "--profile", "full", extras="contract,browser")


@nox.session(default=False)
def smoke_lite(session: nox.Session) -> None:
    """Contract-only smoke with the minimal chat image: the runbook's six steps."""
    smoke_cli(session, "run", "--profile", "lite", extras=SMOKE_LITE_EXTRAS)


def shared_smoke_cli(session: nox.Session, command: str) -> None:
    """A smoke command in smoke_lite's venv, made or refreshed first only when needed."""
    stamp = SHARED_VENV / STAMP
    wanted = _digest(("-e", f".[{SMOKE_LITE_EXTRAS}]"), ())
    if not stamp.is_file() or stamp.read_text() != wanted:
        session.run(sys.executable, "-m", "nox", "-s", "smoke_lite", "--install-only")
    session.run(
        str(SHARED_VENV / "bin" / "python"),
        "-m",
        "smoke",
        command,
        *session.posargs,
        external=True,
        interrupt_timeout=INTERRUPT_TIMEOUT_SECONDS,
        terminate_timeout=TERMINATE_TIMEOUT_SECONDS,
    )


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """Fuzz chat against its own OpenAPI schema with Schemathesis, on a fresh stack."""
    smoke_cli(session, "fuzz", extras="fuzz")


@nox.session(default=False, venv_backend="none")
def build(session: nox.Session) -> None:
    """Build or rebuild the project's images (<project>-chat, <project>-web)."""
    shared_smoke_cli(session, "build")


@nox.session(default=False, venv_backend="none")
def logs(session: nox.Session) -> None:
    """Write the kept stack's compose logs to e2e-compose.log."""
    shared_smoke_cli(session, "logs")


@nox.session(default=False, venv_backend="none")
def teardown(session: nox.Session) -> None:
    """Remove the stack: containers, networks, volumes, orphans; --images also its images."""
    shared_smoke_cli(session, "teardown")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Benchmark the smoke against raw compose, testcontainers and a pytest-docker flow."""
    install(session, "-e", ".[contract,browser]", *BENCH_REQUIREMENTS)
    session.run("python", "-m", "bench", *session.posargs)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests, service tests and real-Docker integration tests."""
    requirements = [f"-r{name}" for name in SERVICE_REQUIREMENTS]
    no_deps = tuple(f"-r{name}" for name in NO_DEPS_REQUIREMENTS)
    install(
        session,
        "-e",
        ".[contract,browser,fuzz]",
        *TEST_REQUIREMENTS,
        *requirements,
        no_deps=no_deps,
    )
    session.run("nox", "--install-only", "-s", *SESSIONS_UNDER_TEST)
    # The tests start the smoke hundreds of times; where PYTHONDONTWRITEBYTECODE is set
    # each of them would compile smoke/ again (0.1 CPU-s a run).
    session.run("python", "-m", "compileall", "-q", "smoke")
    session.run("pytest", *PARALLEL, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and mypy --strict on the smoke package and this file."""
    install(session, "-e", ".[contract,browser]", *LINT_REQUIREMENTS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "smoke", "noxfile.py")


@nox.session(default=False, venv_backend="none")
def lock(session: nox.Session) -> None:
    """Resolve the images' lock files again from their requirements (needs uv)."""
    for lock_file, requirements in LOCKS.items():
        no_deps = ("--no-deps",) if lock_file.endswith("-nodeps.lock") else ()
        session.run(
            *("uv", "pip", "compile", "--quiet", "--universal", "--python-version", "3.11"),
            *("--generate-hashes", "--custom-compile-command", "nox -s lock"),
            *no_deps,
            *requirements,
            *("--output-file", lock_file),
            *session.posargs,
            external=True,
        )


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation testing of smoke/ with the fast tests; prints the score per module."""
    install(session, "-e", ".[contract]", *MUTMUT_REQUIREMENTS)
    session.run("python", "tools/mutation_report.py", *session.posargs)
