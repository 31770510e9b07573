#!/usr/bin/env python3
"""Bootstrap and run Adref for development with nothing but Python 3.11+.

Usage:
  python3 dev.py serve [ARGS...]   set up .venv, then run `adref serve --demo ARGS...`
  python3 dev.py test [ARGS...]    set up .venv, then ruff, mypy, and pytest ARGS... on SQLite
                                   and again on PostgreSQL when one is available
  python3 dev.py postgres          start the local PostgreSQL for tests and print its URL
  python3 dev.py lock [--upgrade]  re-lock requirements/*.txt from pyproject.toml with uv
  python3 dev.py --help            show this text

Setup creates .venv (stdlib venv) if it is missing, installs requirements/dev.txt with
`pip install --require-hashes` whenever that file or pyproject.toml changed since the last
install (the stamp is .venv/adref-install.sha256), and installs the project itself in
editable mode. To add a dependency: edit pyproject.toml, run `python3 dev.py lock`, and
commit pyproject.toml with both files in requirements/.

PostgreSQL: the suite runs a second time on PostgreSQL when ADREF_TEST_POSTGRES holds a
server URL (postgresql+psycopg://user:password@host:port/postgres, a role that may create
databases), or when Debian's postgresql package is installed and dev.py runs as root: it
then starts the cluster, makes a role `adref_test` with a random password kept in the
file ~/.config/adref/postgres-test-password, and uses it on 127.0.0.1. With CI set, a missing
PostgreSQL is a failure, not a skip.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
LOCK = ROOT / "requirements" / "dev.txt"
PYPROJECT = ROOT / "pyproject.toml"
STAMP = VENV / "adref-install.sha256"

# Locks are universal (any OS/architecture) for the oldest Python we support, so one
# file serves Linux x86_64 and aarch64 on 3.11 and later.
LOCKS = {
    "requirements/main.txt": [],
    "requirements/dev.txt": ["--extra", "dev"],
}


def say(message: str) -> None:
    """Print one progress line straight away."""
    print(message, file=sys.stderr, flush=True)


def run(*argv: str | Path, cwd: Path = ROOT) -> int:
    """Run a command and return its exit code."""
    return subprocess.run([str(a) for a in argv], cwd=cwd, check=False).returncode


def must(*argv: str | Path) -> None:
    """Run a command and stop dev.py if it fails."""
    code = run(*argv)
    if code != 0:
        sys.exit(f"dev.py: command failed ({code}): {' '.join(str(a) for a in argv)}")


def fingerprint() -> str:
    """Return what the installed environment was built from, as sha256sum lines."""
    return "".join(
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(ROOT)}\n"
        for path in (LOCK, PYPROJECT)
    )


def setup() -> None:
    """Create .venv and install the locked dependencies and the project if needed."""
    # Checked at run time because dev.py is the one file an older Python may execute.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit("dev.py: Adref needs Python 3.11 or later.")
    if not (BIN / "python").exists():
        say("Creating .venv…")
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("Installing locked dependencies…")
    pip = (BIN / "python", "-m", "pip", "--disable-pip-version-check", "--quiet")
    must(*pip, "install", "--require-hashes", "--requirement", LOCK)
    say("Installing adref (editable)…")
    # No build isolation: the build backend (setuptools) comes from the lock, not from
    # whatever the index serves that day.
    must(*pip, "install", "--no-deps", "--no-build-isolation", "--editable", ".")
    STAMP.write_text(wanted)


def serve(args: list[str]) -> None:
    """Replace this process with `adref serve`, in the caller's directory."""
    adref = BIN / "adref"
    os.execv(adref, [str(adref), "serve", "--demo", *args])


# One file per machine, not per checkout: every checkout on a machine shares the one role,
# and each setting its own password would break another's run in progress.
PG_PASSWORD_FILE = Path.home() / ".config" / "adref" / "postgres-test-password"
PG_ROLE = "adref_test"


def postgres_url() -> str | None:
    """Return the URL of a PostgreSQL server for the tests, starting Debian's if need be."""
    given = os.environ.get("ADREF_TEST_POSTGRES")
    if given:
        return given
    if shutil.which("pg_lsclusters") is None or os.geteuid() != 0:
        return None
    clusters = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()
    if len(clusters) < 3:
        say("dev.py: Debian's postgresql is installed but has no cluster.")
        return None
    version, name, port = clusters[0], clusters[1], clusters[2]
    # Starting a running cluster is an error to pg_ctlcluster, so its status decides.
    status = subprocess.run(
        ["pg_ctlcluster", version, name, "status"], capture_output=True, check=False
    )
    if status.returncode != 0:
        say(f"Starting PostgreSQL {version}/{name} on port {port}…")
        must("pg_ctlcluster", version, name, "start")
    if not PG_PASSWORD_FILE.exists():
        PG_PASSWORD_FILE.parent.mkdir(parents=True, exist_ok=True)
        PG_PASSWORD_FILE.write_text(secrets.token_urlsafe(24))
        PG_PASSWORD_FILE.chmod(0o600)
    password = PG_PASSWORD_FILE.read_text().strip()
    # A role that may create and drop the throwaway databases each test makes; the
    # password is random per machine, so nothing secret is ever committed.
    sql = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{PG_ROLE}') THEN
    CREATE ROLE {PG_ROLE} LOGIN CREATEDB;
  END IF;
END $$;
ALTER ROLE {PG_ROLE} LOGIN CREATEDB PASSWORD '{password}';
-- DROP DATABASE ... WITH (FORCE) must end an autovacuum worker busy in the database.
GRANT pg_signal_backend TO {PG_ROLE};
"""
    code = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "--quiet", "--port", port,
         "--set", "ON_ERROR_STOP=1", "--file", "-"],
        input=sql, text=True, check=False, stdout=subprocess.DEVNULL,
    ).returncode  # fmt: skip
    if code != 0:
        sys.exit("dev.py: could not make the PostgreSQL test role.")
    return f"postgresql+psycopg://{PG_ROLE}:{password}@127.0.0.1:{port}/postgres"


def pytest(args: list[str], postgres: str | None) -> str | None:
    """Run pytest once, on PostgreSQL when given its URL; return a failure's name or None."""
    where = "PostgreSQL" if postgres else "SQLite"
    say(f"Running pytest on {where}…")
    env = dict(os.environ)
    env.pop("ADREF_TEST_POSTGRES", None)
    if postgres:
        env["ADREF_TEST_POSTGRES"] = postgres
    code = subprocess.run(
        [str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT, env=env, check=False
    ).returncode
    if code == 5:
        # An empty run must not look like a green one.
        say("dev.py: pytest collected no tests.")
    return f"pytest on {where}" if code != 0 else None


def test(args: list[str]) -> int:
    """Run the linters and the tests; return non-zero if any of them failed."""
    failed: list[str] = []
    say("Running ruff check…")
    if run(BIN / "ruff", "check", ".") != 0:
        failed.append("ruff")
    say("Running mypy…")
    if run(BIN / "mypy", "bot", "webhooks", "tests", "bench") != 0:
        failed.append("mypy")
    failed += filter(None, [pytest(args, None)])
    postgres = postgres_url()
    if postgres:
        failed += filter(None, [pytest(args, postgres)])
    elif os.environ.get("CI"):
        failed.append("PostgreSQL (none found; CI must test on it)")
    else:
        say("dev.py: no PostgreSQL found, so the suite ran on SQLite only (see --help).")
    if failed:
        say(f"dev.py: failed: {', '.join(failed)}")
        return 1
    say("dev.py: all checks passed.")
    return 0


def lock(args: list[str]) -> int:
    """Regenerate the hash-pinned lock files from pyproject.toml."""
    unknown = [a for a in args if a != "--upgrade"]
    if unknown:
        sys.exit(f"dev.py lock: unknown arguments: {' '.join(unknown)}")
    for output, extra in LOCKS.items():
        say(f"Locking {output}…")
        code = run(
            BIN / "uv", "pip", "compile", "--quiet", "pyproject.toml", *extra, *args,
            "--universal", "--python-version", "3.11", "--generate-hashes",
            "--custom-compile-command", "python3 dev.py lock", "--output-file", output,
        )  # fmt: skip
        if code != 0:
            return code
    return 0


def main(argv: list[str]) -> int:
    """Dispatch the dev.py command line."""
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__.strip())
        return 0
    command, args = argv[0], argv[1:]
    if command not in {"serve", "test", "lock", "postgres"}:
        print(f"dev.py: unknown command {command!r}\n\n{__doc__.strip()}", file=sys.stderr)
        return 2
    setup()
    if command == "serve":
        serve(args)
    if command == "lock":
        return lock(args)
    if command == "postgres":
        url = postgres_url()
        if url is None:
            sys.exit("dev.py: no PostgreSQL: set ADREF_TEST_POSTGRES or install postgresql.")
        print(url)
        return 0
    return test(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
