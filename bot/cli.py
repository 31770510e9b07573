"""The `adref` command: run the service, talk to the bot, see the queue, check content."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
from sqlmodel import Session

from bot import catalogs, cli_accounts, cli_channels, cli_leaflets, cli_privacy, logs, rhi
from bot.config import ConfigError, Settings
from bot.content import LANGS, ContentError
from bot.db import upgrade
from bot.runtime import Runtime, connect, migrates_itself


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ, Path.cwd())
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def _runtime() -> Runtime:
    settings = _settings()
    try:
        runtime = Runtime.start(settings, migrate=migrates_itself(settings))
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    # Every command closes its connections when it ends, however it ends: a PostgreSQL
    # server counts open connections, and a test runner reuses this process.
    click.get_current_context().call_on_close(runtime.engine.dispose)
    return runtime


def _stop(signum: int, frame: object) -> None:
    # waitress closes its sockets and finishes its threads on SystemExit, as on Ctrl-C.
    sys.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Adref: a Welsh and English chat and SMS service for young people in Wales who have
    come back after going missing, and for their parents and carers.

    Configuration comes from the environment (DATABASE_URL, SECRET_KEY, ADREF_DATA_KEY,
    ...); without it, Adref keeps a SQLite database and its keys in this directory.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, help="Worker threads.")
@click.option("--demo", is_flag=True,
              help="Add a demo team and manager account, and print how to sign in as it.")
def serve(host: str, port: int, threads: int, demo: bool) -> None:
    """Run the web chat (/chat), the dashboard (/dashboard), the webhooks and a dispatcher."""
    from waitress.server import create_server

    from bot.worker import Background
    from webhooks import create_app

    runtime = _runtime()
    signing_in = (cli_accounts.demo_sign_in(runtime, f"http://{host}:{port}/dashboard/sign-in")
                  if demo else None)
    app = create_app(runtime)
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="adref")
    except OSError as error:
        runtime.engine.dispose()
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror}"
                                   ) from error
    # Waitress's warnings and the app's own lines, as LOG_FORMAT says (JSON in production).
    logs.configure(runtime.settings.log_format == "json", runtime.settings.log_level)
    # systemd, Docker and `kill` stop a service with SIGTERM; treat it as Ctrl-C.
    signal.signal(signal.SIGTERM, _stop)
    dispatcher = Background(runtime)
    dispatcher.start()
    click.echo(f"Adref is running. Web chat: http://{host}:{port}/chat  (Ctrl-C stops it)")
    if signing_in:
        click.echo(signing_in)
    try:
        server.run()
    finally:
        dispatcher.stop()
        runtime.engine.dispose()


@main.command()
@click.option("--poll", default=1.0, show_default=True,
              help="Seconds between looks at the outbox when there is nothing to send.")
@click.option("--lease", default=60.0, show_default=True,
              help="Seconds a message stays claimed; a worker that dies is taken over after.")
def worker(poll: float, lease: float) -> None:
    """Send queued Telegram and SMS messages until SIGTERM; run several beside the web app."""
    from bot.worker import run_forever

    runtime = _runtime()
    logs.configure(runtime.settings.log_format == "json", runtime.settings.log_level)
    def ready() -> None:
        click.echo("Adref worker is sending (SIGTERM or Ctrl-C stops it after the batch in hand).")

    try:
        run_forever(runtime, poll=poll, lease=lease, ready=ready)
    finally:
        runtime.engine.dispose()
    click.echo("Adref worker stopped.")


@main.command()
@click.option("--lang", type=click.Choice(LANGS), help="Start in Cymraeg (cy) or English (en).")
@click.option("--as", "who", default="console", show_default=True,
              help="Who you are to the bot; the same name carries on the same conversation.")
def chat(lang: str | None, who: str) -> None:
    """Talk to the bot in the terminal, or script a conversation on standard input."""
    from bot.channels import console

    runtime = _runtime()
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo(runtime.content.both("cli.chat_hint") + "\n")

    def lines() -> Iterator[str]:
        while True:
            try:
                line = input("> ") if interactive else sys.stdin.readline()
            except EOFError:
                return
            if not interactive and line == "":
                return
            yield line

    console.run(runtime.inbox, f"console:{who}", lines(), click.echo, lang=lang)


@main.group()
def requests() -> None:
    """Return home interview requests."""


@requests.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Table for people, JSON for scripts.")
@click.option("--all", "everything", is_flag=True, help="Include withdrawn and closed ones.")
def list_requests(fmt: str, everything: bool) -> None:
    """The queue: urgent first, then the nearest deadline. No personal data is shown."""
    runtime = _runtime()
    statuses = ("queued", "claimed", "closed", "withdrawn") if everything else rhi.ACTIVE
    with Session(runtime.engine) as session:
        rows = rhi.queue(session, statuses)
    if fmt == "json":
        def plain(value: object) -> object:
            return value.isoformat() if isinstance(value, datetime) else value
        click.echo(json.dumps([{k: plain(v) for k, v in dataclasses.asdict(r).items()}
                               for r in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No requests in the queue.")
        return
    click.echo(f"{'reference':<10} {'status':<9} {'urgent':<6} {'lang':<4} {'area':<18} "
               f"{'in care':<7} {'contact':<9} {'welsh':<5} due (UTC)")
    for r in rows:
        click.echo(f"{r.reference:<10} {r.status:<9} {'YES' if r.urgent else '':<6} "
                   f"{r.language:<4} {(r.area or 'not sure'):<18} {r.in_care:<7} "
                   f"{r.contact_method:<9} {'yes' if r.welsh_worker else 'no':<5} "
                   f"{r.due_at:%Y-%m-%d %H:%M}")
    click.echo(f"{len(rows)} request(s).")


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration not yet applied."""
    try:
        engine = connect(_settings().database_url)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    click.echo("Database is at the latest migration.")


@main.group()
def content() -> None:
    """The words: catalogs, sheets and the service directory."""


@content.command("check")
def content_check() -> None:
    """Fail on a missing translation, a placeholder mismatch or an unsourced contact."""
    try:
        report = catalogs.check(_settings().content_dir)
    except OSError as error:
        raise click.ClickException(f"cannot read the content: {error}") from error
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@content.command("update")
def content_update() -> None:
    """Rebuild messages.pot from English and bring the Welsh catalog in line with it."""
    try:
        changes = catalogs.update(_settings().content_dir)
    except (ContentError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(changes)


main.add_command(cli_channels.telegram)
main.add_command(cli_channels.sms)
main.add_command(cli_leaflets.leaflet)
main.add_command(cli_accounts.team)
main.add_command(cli_accounts.practitioner)
main.add_command(cli_privacy.keys_group)
main.add_command(cli_privacy.purge_command)

if __name__ == "__main__":  # pragma: no cover
    main()
