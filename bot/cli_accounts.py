"""`adref team ...` and `adref practitioner ...`: the dashboard's teams and accounts.

Registered on the `adref` group in bot/cli.py with `main.add_command(...)`. There is no
default account: the first one is made here (or, for trying Adref out, by `serve --demo`).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlmodel import Session, col, select

from bot import accounts, alerts, demo
from bot.clock import utcnow
from bot.config import ConfigError, Settings
from bot.content import LANGS
from bot.db import session_scope
from bot.models import ROLES, Practitioner, Team
from bot.runtime import Runtime, migrates_itself


def _runtime() -> Runtime:
    try:
        settings = Settings.from_env(os.environ, Path.cwd())
        return Runtime.start(settings, migrate=migrates_itself(settings))
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _transaction(runtime: Runtime, *, dispose: bool = True) -> Iterator[Session]:
    """A transaction in which an AccountError is a plain error message."""
    try:
        with session_scope(runtime.engine) as session:
            yield session
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    finally:
        if dispose:
            runtime.engine.dispose()


@click.group()
def team() -> None:
    """Teams of practitioners and the areas each covers."""


@team.command("add")
@click.argument("name")
@click.option("--area", "areas", multiple=True, required=True, metavar="CODE",
              help="An area the team covers, e.g. cardiff; repeat for each one.")
def team_add(name: str, areas: tuple[str, ...]) -> None:
    """Add a team called NAME that covers the given areas."""
    runtime = _runtime()
    with _transaction(runtime) as session:
        made = accounts.create_team(session, runtime.content, name, areas)
    click.echo(f"Added team {made.id}: {made.name} ({', '.join(made.area_codes)}).")


@team.command("list")
def team_list() -> None:
    """List the teams, their areas and how many accounts each has."""
    runtime = _runtime()
    with _transaction(runtime) as session:
        teams = session.exec(select(Team).order_by(col(Team.name))).all()
        sizes = {t.id: len(session.exec(select(Practitioner.id)
                                        .where(Practitioner.team_id == t.id)).all())
                 for t in teams}
    if not teams:
        click.echo("No teams yet. Add one with: adref team add NAME --area CODE")
        return
    for t in teams:
        duty = "duty phone set" if t.duty_phone_enc else "no duty phone"
        click.echo(f"{t.id:>3}  {t.name}  [{', '.join(t.area_codes)}]  {sizes[t.id]} account(s)"
                   f"  {duty}")


@team.command("duty")
@click.argument("name")
@click.option("--phone", metavar="NUMBER",
              help="The UK mobile the team keeps on duty, as 07... or +447...")
@click.option("--clear", is_flag=True, help="Stop texting the team; the dashboard still shows "
              "urgent requests.")
def team_duty(name: str, phone: str | None, clear: bool) -> None:
    """Set or clear the phone that team NAME keeps on duty.

    When a request in the team's areas becomes urgent (the young person said something
    that suggests danger), Adref texts this phone once: "urgent request ABCD-2345 - see
    the dashboard", in Welsh and English, with nothing personal. A request whose area is
    not known is texted to every team. The number is stored encrypted.
    """
    if clear == (phone is not None):
        raise click.UsageError("give either --phone NUMBER or --clear")
    runtime = _runtime()
    with _transaction(runtime) as session:
        found = accounts.find_team(session, name)
        if found is None:
            raise accounts.AccountError(f"there is no team called {name!r}; see adref team list")
        try:
            e164 = alerts.set_duty_phone(session, runtime.vault, found, phone)
        except alerts.NotAMobile as refused:
            raise accounts.AccountError(runtime.content.text("en", refused.key)) from refused
        team_name = found.name
    if e164 is None:
        click.echo(f"{team_name} has no duty phone now: urgent requests show on the "
                   "dashboard only.")
    else:
        click.echo(f"{team_name}'s duty phone is {alerts.masked(e164)}: it gets a text when a "
                   "request in the team's areas becomes urgent.")


@click.group()
def practitioner() -> None:
    """Practitioner accounts for the dashboard."""


@practitioner.command("add")
@click.option("--name", required=True, help="The person's name, as colleagues know it.")
@click.option("--email", required=True, help="Their work email address; they sign in with it.")
@click.option("--team", "team_name", help="Their team's name (every role but admin needs one).")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="practitioner, manager (also sees the team's reports) or admin.")
@click.option("--speaks-welsh", is_flag=True,
              help="They can hold an interview in Welsh.")
@click.option("--lang", type=click.Choice(LANGS), default="cy", show_default=True,
              help="The dashboard's language for them; they can switch it themselves.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def practitioner_add(name: str, email: str, team_name: str | None, role: str,
                     speaks_welsh: bool, lang: str, password_stdin: bool) -> None:
    """Add a dashboard account. Asks for the password twice unless --password-stdin."""
    password = _read_password(password_stdin)
    runtime = _runtime()
    with _transaction(runtime) as session:
        found = accounts.find_team(session, team_name) if team_name else None
        if team_name and found is None:
            raise accounts.AccountError(f"there is no team called {team_name!r}; "
                                        "see adref team list")
        made = accounts.create_practitioner(
            session, name=name, email=email, password=password, role=role, team=found,
            speaks_welsh=speaks_welsh, language=lang)
    click.echo(f"Added {role} {made.id}: {made.name}.")
    click.echo("They set up their sign-in code (an authenticator app) the first time they "
               "sign in at /dashboard/sign-in.")


@practitioner.command("list")
def practitioner_list() -> None:
    """List the accounts: role, team, language and whether they can sign in."""
    runtime = _runtime()
    now = utcnow()
    with _transaction(runtime) as session:
        rows = session.exec(select(Practitioner).order_by(col(Practitioner.id))).all()
        teams = {t.id: t.name for t in session.exec(select(Team)).all()}
    if not rows:
        click.echo("No accounts yet. Add one with: adref practitioner add --help")
        return
    for p in rows:
        state = ("disabled" if p.disabled_at else
                 "locked" if p.locked_until and p.locked_until > now else
                 "active" if p.totp_enrolled_at else "not yet signed in")
        flags = ", ".join(f for f, on in (("Welsh speaker", p.speaks_welsh), ("DEMO", p.demo))
                          if on)
        team_name = teams.get(p.team_id, "no team") if p.team_id else "no team"
        click.echo(f"{p.id:>3}  {p.name} <{p.email}>  {p.role}  {team_name}  lang={p.language}"
                   f"  {state}{'  ' + flags if flags else ''}")


def demo_sign_in(runtime: Runtime, address: str) -> str:
    """Make (or refresh) the demo team and manager; return what to print for signing in."""
    if runtime.settings.production:
        raise click.ClickException("--demo is for trying Adref out, never in production")
    # The engine stays open: the server that follows uses it.
    with _transaction(runtime, dispose=False) as session:
        account = demo.ensure(session, runtime.content, runtime.vault, utcnow())
    secret = " ".join(account.totp_secret[i:i + 4] for i in range(0, len(account.totp_secret), 4))
    return "\n".join([
        "Demo data is in this database (team and account marked as demo; production will",
        "refuse to start with it). Sign in to the dashboard as the demo manager:",
        f"  address:      {address}",
        f"  email:        {account.email}",
        f"  password:     {account.password}   (new each time serve --demo starts)",
        f"  TOTP secret:  {secret}",
        f"  otpauth URI:  {account.otpauth_uri}",
        "Add the secret or URI to an authenticator app, or compute a code with: "
        f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{account.totp_secret}').now())\"",
    ])


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not _interactive():
        raise click.ClickException("not at a terminal: pipe the password in with "
                                   "--password-stdin")
    first = getpass.getpass("Password (at least 12 characters): ")
    try:
        accounts.check_password(first)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    if getpass.getpass("The same password again: ") != first:
        raise click.ClickException("the two passwords differ; nothing was changed")
    return first


def _interactive() -> bool:
    return sys.stdin.isatty()
