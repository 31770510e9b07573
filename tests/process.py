"""Running the installed `adref` command as a separate process, the way people run it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Everything bot.config reads: a test must not pick up the developer's own setup.
CONFIG_VARIABLES = (
    "ADREF_ENV", "DATABASE_URL", "SECRET_KEY", "ADREF_DATA_KEY", "PUBLIC_BASE_URL",
    "RHI_TARGET_HOURS", "ADREF_CONTENT_DIR", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_API_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM",
    "TWILIO_API_BASE_URL",
)  # fmt: skip
# A process that takes longer than this is stuck, not slow.
TIMEOUT_SECONDS = 60


def adref_command() -> Path:
    """The `adref` script installed beside this Python (the project's .venv)."""
    beside = Path(sys.executable).parent / "adref"
    if beside.exists():
        return beside
    found = shutil.which("adref")
    if found is None:
        pytest.fail("the adref command is not installed; run `python3 dev.py test`")
    return Path(found)


def environment(database: Path) -> dict[str, str]:
    """This process's environment without Adref's settings, using database."""
    env = {k: v for k, v in os.environ.items()
           if k.removesuffix("_FILE") not in CONFIG_VARIABLES}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def adref(*args: str, cwd: Path, stdin: str = "", exit_code: int = 0
          ) -> subprocess.CompletedProcess[str]:
    """Run `adref ARGS` in cwd on cwd's adref.db, feeding stdin; check how it exits."""
    result = subprocess.run(
        [str(adref_command()), *args], cwd=cwd, env=environment(cwd / "adref.db"),
        input=stdin, capture_output=True, text=True, encoding="utf-8",
        timeout=TIMEOUT_SECONDS, check=False,
    )
    assert result.returncode == exit_code, (
        f"adref {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    assert "Traceback" not in result.stderr, result.stderr
    return result


def lines(*typed: str) -> str:
    """What a person types, one message a line."""
    return "".join(f"{line}\n" for line in typed)
