#!/usr/bin/env python3
"""Bootstrap and run Adref for development with nothing but Python 3.11+.

Usage:
  python3 dev.py serve [ARGS...]   set up .venv, then run `adref serve --demo ARGS...`
  python3 dev.py test [ARGS...]    set up .venv, then ruff, mypy and pytest ARGS...
  python3 dev.py lock [--upgrade]  re-lock requirements/*.txt from pyproject.toml with uv
  python3 dev.py --help            show this text

Setup creates .venv (stdlib venv) if it is missing, installs requirements/dev.txt with
`pip install --require-hashes` whenever that file or pyproject.toml changed since the last
install (the stamp is .venv/adref-install.sha256), and installs the project itself in
editable mode. To add a dependency: edit pyproject.toml, run `python3 dev.py lock`, and
commit pyproject.toml with both files in requirements/.
"""

from __future__ import annotations

import hashlib
import os
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
    print(message, flush=True)


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


def test(args: list[str]) -> int:
    """Run the linters and the tests; return non-zero if any of them failed."""
    failed: list[str] = []
    say("Running ruff check…")
    if run(BIN / "ruff", "check", ".") != 0:
        failed.append("ruff")
    say("Running mypy…")
    if run(BIN / "mypy", "bot", "webhooks", "tests", "bench") != 0:
        failed.append("mypy")
    say("Running pytest…")
    code = run(BIN / "python", "-m", "pytest", *args)
    if code == 5:
        # An empty run must not look like a green one.
        say("dev.py: pytest collected no tests.")
    if code != 0:
        failed.append("pytest")
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
    if command not in {"serve", "test", "lock"}:
        print(f"dev.py: unknown command {command!r}\n\n{__doc__.strip()}", file=sys.stderr)
        return 2
    setup()
    if command == "serve":
        serve(args)
    if command == "lock":
        return lock(args)
    return test(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
