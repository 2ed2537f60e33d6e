"""Configuration from the environment, read once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Stack = Literal["minimal", "local"]
DEFAULT_MODEL_DIR = Path("/opt/model")


@dataclass(frozen=True)
class Settings:
    db_host: str
    db_port: int
    db_user: str
    db_password: str
    db_name: str
    db_timeout_seconds: float
    #: "local" answers with the embedding model in ``model_dir``; "minimal" by keywords.
    stack: Stack = "minimal"
    model_dir: Path = DEFAULT_MODEL_DIR

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        # The image records how it was built; "1" means the local stack is installed.
        flag = env.get("INSTALL_LOCAL_STACK", "0")
        if flag not in ("0", "1"):
            raise ValueError(f"INSTALL_LOCAL_STACK must be 0 or 1, got {flag!r}")
        return cls(
            db_host=env.get("POSTGRES_HOST", "db"),
            db_port=int(env.get("POSTGRES_PORT", "5432")),
            db_user=env.get("POSTGRES_USER", "contoso"),
            db_password=env.get("POSTGRES_PASSWORD", ""),
            db_name=env.get("POSTGRES_DB", "contoso"),
            db_timeout_seconds=float(env.get("CHAT_DB_TIMEOUT_SECONDS", "3")),
            stack="local" if flag == "1" else "minimal",
            model_dir=Path(env.get("CHAT_MODEL_DIR", str(DEFAULT_MODEL_DIR))),
        )

    @property
    def conninfo(self) -> str:
        # psycopg is imported when db is first dialled, not when chat reads its settings.
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.db_host,
            port=self.db_port,
            user=self.db_user,
            password=self.db_password,
            dbname=self.db_name,
            connect_timeout=max(1, round(self.db_timeout_seconds)),
            application_name="contoso-chat",
            options=f"-c statement_timeout={int(self.db_timeout_seconds * 1000)}",
        )
