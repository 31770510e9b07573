"""`adref keys ...` and `adref purge`: moving to a new data key, and retention.

Registered on the `adref` group in bot/cli.py with `main.add_command(...)`. They print
table names and counts only: never a value they open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click
from sqlalchemy import Engine

from bot import keys, purge
from bot.clock import utcnow
from bot.config import ConfigError, Settings, decode_data_key, new_data_key
from bot.crypto import Vault, key_id
from bot.db import upgrade
from bot.runtime import connect, migrates_itself

# How purge names what it removed.
KINDS = {
    "message_texts": "message texts",
    "outbox_messages": "outbox messages (text and recipient)",
    "request_details": "request notes and phone numbers",
    "contacts": "contacts (address and conversation)",
    "conversations": "conversations' answers so far",
}


@dataclass(frozen=True)
class _Store:
    """What these commands need: settings, the database and the key ring."""

    settings: Settings
    engine: Engine
    vault: Vault


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ, Path.cwd())
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _store() -> Iterator[_Store]:
    settings = _settings()
    try:
        engine = connect(settings.database_url)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    try:
        if migrates_itself(settings):
            upgrade(engine)
        yield _Store(settings, engine, Vault(settings.data_key, settings.previous_data_keys))
    finally:
        engine.dispose()


@click.group("keys")
def keys_group() -> None:
    """The data key that seals personal data: make one, move everything to it, check.

    To change it without stopping the service: set the new key as ADREF_DATA_KEY and the
    old one in ADREF_DATA_KEY_PREVIOUS, restart, run `adref keys rotate`, and once
    `adref keys check` passes, remove the old key and restart (docs/deploy.md).
    """


@keys_group.command("new")
def keys_new() -> None:
    """Print a fresh data key for ADREF_DATA_KEY (its key id differs from the keys in use)."""
    in_use: set[int] = set()
    try:
        settings = Settings.from_env(os.environ, Path.cwd())
        in_use = {key_id(k) for k in (settings.data_key, *settings.previous_data_keys)}
    except ConfigError:
        pass  # nothing configured here: any key will do
    while True:
        fresh = new_data_key()
        # One new key in 254 shares an id with a given key; the service would refuse it.
        if key_id(decode_data_key(fresh)) not in in_use:
            break
    click.echo(fresh)
    click.echo("Keep it as safe as the database, and apart from its backups.", err=True)


@keys_group.command("rotate")
@click.option("--batch", default=keys.BATCH, show_default=True, type=click.IntRange(1),
              help="Rows re-sealed per transaction; smaller batches hold locks for less time.")
def keys_rotate(batch: int) -> None:
    """Re-seal every personal value under ADREF_DATA_KEY while the service runs.

    Each batch is its own transaction: safe to stop (Ctrl-C) and run again, and running
    it again when all is done changes nothing. Ends with `adref keys check`.
    """
    with _store() as store:
        vault = store.vault
        previous = ", ".join(map(str, vault.previous_key_ids)) or "none"
        click.echo(f"Current key id {vault.key_id}; previous key ids: {previous}.")

        def progress(tally: keys.Tally) -> None:
            click.echo(f"  {tally.table}: {tally.resealed} re-sealed so far")

        done = keys.rotate(store.engine, vault, utcnow(), batch=batch, progress=progress)
        click.echo("Re-sealed:")
        for tally in done.tallies:
            extra = [f"{n} {what}" for n, what in (
                (tally.unreadable, "unreadable"),
                (tally.changed_meanwhile, "changed by the service meanwhile"),
                (tally.duplicates, "duplicate contacts")) if n]
            click.echo(f"  {tally.table:<16} {tally.resealed:>8}"
                       + (f"  ({', '.join(extra)})" if extra else ""))
        click.echo(f"Removed {done.attempts_removed} sign-in attempt(s) older than the "
                   "throttle's window (their hashes cannot be recomputed).")
        _check(store)


@keys_group.command("check")
def keys_check() -> None:
    """Count values not yet sealed under ADREF_DATA_KEY; exit 1 if any are left."""
    with _store() as store:
        _check(store)


def _check(store: _Store) -> None:
    left = keys.stale(store.engine, store.vault)
    if not any(left.values()):
        click.echo(f"Every sealed value is under the current key (id {store.vault.key_id}). "
                   "ADREF_DATA_KEY_PREVIOUS can be removed (then restart).")
        return
    click.echo("Still under another key:")
    for table, count in left.items():
        if count:
            click.echo(f"  {table:<16} {count:>8}")
    raise click.ClickException(
        "values remain under an older key: run `adref keys rotate` (again); values no key "
        "opens need the key that sealed them in ADREF_DATA_KEY_PREVIOUS")


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would go, and change nothing.")
def purge_command(dry_run: bool) -> None:
    """Clear messages, transcripts and contact details kept past RETENTION_DAYS.

    What goes when is listed in bot/purge.py; the figures the queue and the reports need
    stay. The dispatcher also runs it every hour.
    """
    with _store() as store:
        now, days = utcnow(), store.settings.retention_days
        try:
            done = purge.purge(store.engine, store.vault, now, days, dry_run=dry_run)
        except purge.AlreadyRunning as error:
            raise click.ClickException("another process is purging right now; nothing was "
                                       "done here") from error
    before = purge.cutoff(now, days)
    click.echo(f"{'Would remove' if dry_run else 'Removed'} (kept {days} day"
               f"{'' if days == 1 else 's'}, so from before {before:%Y-%m-%d %H:%M} UTC):")
    for kind, count in done.counts().items():
        click.echo(f"  {KINDS[kind]:<40} {count:>8}")
