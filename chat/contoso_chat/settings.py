"""Configuration from the environment, read once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass

from psycopg.conninfo import make_conninfo


@dataclass(frozen=True)
class Settings:
    db_host: str
    db_port: int
    db_user: str
    db_password: str
    db_name: str
    db_timeout_seconds: float

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            db_host=env.get("POSTGRES_HOST", "db"),
            db_port=int(env.get("POSTGRES_PORT", "5432")),
            db_user=env.get("POSTGRES_USER", "contoso"),
            db_password=env.get("POSTGRES_PASSWORD", ""),
            db_name=env.get("POSTGRES_DB", "contoso"),
            db_timeout_seconds=float(env.get("CHAT_DB_TIMEOUT_SECONDS", "3")),
        )

    @property
    def conninfo(self) -> str:
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
