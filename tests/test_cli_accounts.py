"""`adref team ...` and `adref practitioner ...` (bot/cli_accounts.py), and `serve --demo`."""

from __future__ import annotations

import getpass

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot import cli_accounts
from bot.cli_accounts import practitioner, team
from bot.models import AuditEvent, Practitioner, Team
from tests.process import ok

PASSWORD = "a long and unusual passphrase"




def add_cardiff(runner: CliRunner) -> str:
    return ok(runner.invoke(team, ["add", "Cardiff and the Vale", "--area", "cardiff",
                                   "--area", "vale_of_glamorgan"]))


def add_alice(runner: CliRunner, *extra: str, stdin: str = PASSWORD + "\n") -> Result:
    return runner.invoke(practitioner, [
        "add", "--name", "Alice", "--email", "Alice@Council.Example",
        "--team", "Cardiff and the Vale", "--role", "practitioner", "--password-stdin",
        *extra], input=stdin)


def test_a_team_is_added_and_listed(runner: CliRunner) -> None:
    assert "(cardiff, vale_of_glamorgan)" in add_cardiff(runner)
    listed = ok(runner.invoke(team, ["list"]))
    assert "Cardiff and the Vale  [cardiff, vale_of_glamorgan]  0 account(s)" in listed


def test_an_unknown_area_is_a_clear_error_listing_the_codes(runner: CliRunner) -> None:
    result = runner.invoke(team, ["add", "Cardiff", "--area", "caerdydd"])
    assert result.exit_code == 1
    assert "Error: unknown area caerdydd; the areas are: anglesey, gwynedd" in result.output
    assert "Traceback" not in result.output


def test_a_practitioner_is_added_with_the_password_from_stdin(runner: CliRunner,
                                                              db_engine: Engine) -> None:
    add_cardiff(runner)
    output = ok(add_alice(runner, "--speaks-welsh", "--lang", "en"))
    assert "Added practitioner" in output and "first time they sign in" in output
    assert PASSWORD not in output
    with Session(db_engine) as session:
        alice = session.exec(select(Practitioner)).one()
    assert (alice.email, alice.speaks_welsh, alice.language) == (
        "alice@council.example", True, "en")
    assert alice.totp_enrolled_at is None and alice.password_hash.startswith("$argon2id$")
    listed = ok(runner.invoke(practitioner, ["list"]))
    assert "Alice <alice@council.example>  practitioner  Cardiff and the Vale" in listed
    assert "not yet signed in" in listed and "Welsh speaker" in listed


def test_the_password_is_asked_for_twice_at_a_terminal(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, db_engine: Engine
) -> None:
    add_cardiff(runner)
    typed = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr(cli_accounts, "_interactive", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(typed))
    ok(runner.invoke(practitioner, ["add", "--name", "Bob", "--email", "bob@council.example",
                                    "--team", "Cardiff and the Vale", "--role", "manager"]))
    with Session(db_engine) as session:
        assert session.exec(select(Practitioner.role)).one() == "manager"


def test_two_different_passwords_change_nothing(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, db_engine: Engine
) -> None:
    add_cardiff(runner)
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(cli_accounts, "_interactive", lambda: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(typed))
    result = runner.invoke(practitioner, ["add", "--name", "Bob", "--email", "b@c.example",
                                          "--team", "Cardiff and the Vale", "--role",
                                          "manager"])
    assert result.exit_code == 1 and "the two passwords differ" in result.output
    with Session(db_engine) as session:
        assert session.exec(select(Practitioner)).all() == []


def test_without_a_terminal_the_password_must_come_on_stdin(runner: CliRunner) -> None:
    add_cardiff(runner)
    result = runner.invoke(practitioner, ["add", "--name", "Bob", "--email", "b@c.example",
                                          "--team", "Cardiff and the Vale", "--role",
                                          "manager"])
    assert result.exit_code == 1 and "--password-stdin" in result.output


@pytest.mark.parametrize(("change", "message"), [
    (["--team", "Nowhere"], "there is no team called 'Nowhere'"),
    (["--email", "not-an-email"], "that is not an email address"),
])
def test_bad_accounts_are_clear_errors(runner: CliRunner, change: list[str],
                                       message: str) -> None:
    add_cardiff(runner)
    result = add_alice(runner, *change)
    assert result.exit_code == 1 and f"Error: {message}" in result.output


def test_a_short_password_is_refused(runner: CliRunner) -> None:
    add_cardiff(runner)
    result = add_alice(runner, stdin="too-short\n")
    assert result.exit_code == 1 and "at least 12 characters" in result.output


def test_an_admin_needs_no_team(runner: CliRunner) -> None:
    ok(runner.invoke(practitioner, ["add", "--name", "Dee", "--email", "dee@adref.example",
                                    "--role", "admin", "--password-stdin"],
                     input=PASSWORD + "\n"))
    assert "no team" in ok(runner.invoke(practitioner, ["list"]))


def test_with_no_accounts_the_list_says_how_to_add_one(runner: CliRunner) -> None:
    assert "No accounts yet" in ok(runner.invoke(practitioner, ["list"]))
    assert "No teams yet" in ok(runner.invoke(team, ["list"]))


def test_a_teams_duty_phone_is_set_sealed_shown_masked_and_cleared(
    runner: CliRunner, db_engine: Engine
) -> None:
    add_cardiff(runner)
    assert "no duty phone" in ok(runner.invoke(team, ["list"]))
    output = ok(runner.invoke(team, ["duty", "Cardiff and the Vale", "--phone",
                                     "07911 000111"]))
    assert "Cardiff and the Vale's duty phone is +44 7••• ••• 111" in output
    assert "000111" not in output
    assert "duty phone set" in ok(runner.invoke(team, ["list"]))
    with Session(db_engine) as session:
        stored = session.exec(select(Team)).one().duty_phone_enc
        actions = session.exec(select(AuditEvent.action)).all()
    assert stored is not None and b"7911" not in stored
    assert "team.duty_phone_set" in actions
    output = ok(runner.invoke(team, ["duty", "Cardiff and the Vale", "--clear"]))
    assert "no duty phone now" in output
    with Session(db_engine) as session:
        assert session.exec(select(Team)).one().duty_phone_enc is None


@pytest.mark.parametrize(("arguments", "message"), [
    (["Cardiff and the Vale", "--phone", "029 2087 2087"], "That looks like a landline"),
    (["Cardiff and the Vale", "--phone", "12345"], "That is not a UK mobile number"),
    (["Nowhere", "--phone", "07911 000111"], "there is no team called 'Nowhere'"),
    (["Cardiff and the Vale"], "give either --phone NUMBER or --clear"),
    (["Cardiff and the Vale", "--phone", "07911 000111", "--clear"], "give either"),
])
def test_a_duty_phone_that_cannot_take_texts_is_a_clear_error(
    runner: CliRunner, db_engine: Engine, arguments: list[str], message: str
) -> None:
    add_cardiff(runner)
    result = runner.invoke(team, ["duty", *arguments])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    with Session(db_engine) as session:
        assert session.exec(select(Team)).one().duty_phone_enc is None


COMMANDS = [(team, []), (team, ["add"]), (team, ["list"]), (team, ["duty"]), (practitioner, []),
            (practitioner, ["add"]), (practitioner, ["list"])]


@pytest.mark.parametrize(("group", "path"), COMMANDS,
                         ids=lambda p: " ".join(p) if isinstance(p, list) else p.name)
def test_help_explains_each_command_and_option(runner: CliRunner, group: click.Group,
                                               path: list[str]) -> None:
    command: click.Command = group
    for name in path:
        found = group.get_command(click.Context(group), name)
        assert found is not None
        command = found
    output = ok(runner.invoke(group, [*path, "--help"]))
    summary = (command.help or "").split("\n\n")[0]
    assert summary and " ".join(summary.split()) in " ".join(output.split())
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{param.name} has no help text"
            assert param.opts[0] in output
