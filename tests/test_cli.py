"""The `adref` command: scripted chats, the queue, content checks, help and errors."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, inspect
from sqlmodel import Session, select

from bot.cli import main
from bot.models import RhiRequest
from tests.process import (
    adref,
    lines,
    ok,
    serving,
)

WELSH_SCRIPT = lines(
    "person ifanc", "3", "ie", "ddoe", "dwi'n byw yng Nghaerffili", "mewn gofal",
    "neges destun", "07911 123456", "gyda'r nos", "ie", "Dwi eisiau siarad am yr ysgol",
    "anfon",
)
ENGLISH_SCRIPT = lines(
    "young person", "ask for a return home interview", "yes", "today", "Barry", "at home",
    "phone call", "029 2087 2087", "any time", "no", "My foster carer shouts at me", "send",
)
REFERENCE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")




def queue_json(runner: CliRunner) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(
        ok(runner.invoke(main, ["requests", "list", "--format", "json"])))
    return rows


def test_a_scripted_welsh_chat_in_a_real_process_queues_a_request_without_personal_data(
    tmp_path: Path, database_url: str,
) -> None:
    chat = adref("chat", "--lang", "cy", cwd=tmp_path, stdin=WELSH_SCRIPT, database=database_url)
    assert "Pwy sy'n ysgrifennu?" in chat.stdout and "Shwmae" not in chat.stdout
    assert "Wedi anfon. Dy gyfeirnod yw" in chat.stdout
    [reference] = REFERENCE.findall(chat.stdout)
    listed = adref("requests", "list", "--format", "json", cwd=tmp_path,
                   database=database_url).stdout
    [row] = json.loads(listed)
    assert row["reference"] == reference
    assert (row["area"], row["language"], row["status"]) == ("caerphilly", "cy", "queued")
    assert row["welsh_worker"] is True and row["in_care"] == "care"
    for personal in ("ysgol", "07911", "7911 123456", "447911123456"):
        assert personal not in listed
    # The keys were made where the command ran, so the note can be read back there only.
    assert (tmp_path / ".adref-data-key").exists()


def test_a_scripted_english_chat_queues_a_request_without_personal_data(
    runner: CliRunner, db_engine: Engine
) -> None:
    output = ok(runner.invoke(main, ["chat", "--lang", "en"], input=ENGLISH_SCRIPT))
    assert "Who is writing?" in output and "Sent. Your reference is" in output
    [reference] = REFERENCE.findall(output)
    [row] = queue_json(runner)
    assert row["reference"] == reference
    assert (row["area"], row["language"], row["status"]) == ("vale_of_glamorgan", "en", "queued")
    assert row["welsh_worker"] is False and row["contact_method"] == "phone"
    listed = json.dumps(row)
    for personal in ("foster carer shouts", "2087", "+44"):
        assert personal not in listed
    with Session(db_engine) as session:
        [stored] = session.exec(select(RhiRequest)).all()
    assert stored.reference == reference and stored.note_enc is not None


def test_the_queue_says_so_when_it_is_empty(runner: CliRunner) -> None:
    assert "No requests" in ok(runner.invoke(main, ["requests", "list"]))
    assert queue_json(runner) == []


def test_the_queue_lists_a_request_as_a_table_row(runner: CliRunner) -> None:
    output = ok(runner.invoke(main, ["chat", "--lang", "en"], input=ENGLISH_SCRIPT))
    [reference] = REFERENCE.findall(output)
    table = ok(runner.invoke(main, ["requests", "list"])).splitlines()
    assert table[0].split()[:5] == ["reference", "status", "urgent", "lang", "area"]
    [row] = [line for line in table if line.startswith(reference)]
    assert row.split()[1:4] == ["queued", "en", "vale_of_glamorgan"]
    assert table[-1] == "1 request(s)."
    assert "foster carer" not in "\n".join(table)


def test_withdrawn_requests_are_listed_only_with_all(runner: CliRunner) -> None:
    ok(runner.invoke(main, ["chat", "--lang", "en"], input=ENGLISH_SCRIPT))
    ok(runner.invoke(main, ["chat"], input=lines("withdraw", "yes")))
    assert queue_json(runner) == []
    [row] = json.loads(ok(runner.invoke(main, ["requests", "list", "--format", "json",
                                               "--all"])))
    assert row["status"] == "withdrawn"


def test_content_check_passes_and_lists_the_unverified_contact_points(
    runner: CliRunner,
) -> None:
    output = ok(runner.invoke(main, ["content", "check"]))
    assert "cy: " in output and "en: " in output and "(100%)" in output
    assert "Unverified contact points" in output
    assert re.search(r"^  - \w+\.\w+: ", output, re.MULTILINE)
    assert "OK: Welsh and English are complete" in output


COMMANDS = [[], ["serve"], ["chat"], ["requests"], ["requests", "list"], ["db"],
            ["db", "upgrade"], ["content"], ["content", "check"], ["content", "update"]]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "adref")
def test_help_explains_each_command_and_option(runner: CliRunner, path: list[str]) -> None:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    output = ok(runner.invoke(main, [*path, "--help"], prog_name="adref"))
    assert output.startswith(f"Usage: adref {' '.join(path)}".rstrip() + " ")
    summary = (command.help or "").split("\n\n")[0]
    assert summary and " ".join(summary.split()) in " ".join(output.split())
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{param.name} has no help text"
            assert param.opts[0] in output


@pytest.mark.parametrize(("variables", "args", "message"), [
    ({"ADREF_ENV": "prod"}, ["requests", "list"], "ADREF_ENV must be one of"),
    ({"ADREF_ENV": "production"}, ["requests", "list"], "SECRET_KEY is required"),
    ({"ADREF_DATA_KEY": "c2hvcnQ"}, ["chat"], "ADREF_DATA_KEY must encode 32 bytes"),
    ({"RHI_TARGET_HOURS": "three days"}, ["serve"], "RHI_TARGET_HOURS must be a whole"),
    ({"DATABASE_URL": "not a url"}, ["requests", "list"], "DATABASE_URL is not usable"),
    ({"DATABASE_URL": "nosuchdb://host/x"}, ["db", "upgrade"], "DATABASE_URL is not usable"),
    ({"DATABASE_URL": "sqlite:////no/such/folder/adref.db"}, ["db", "upgrade"],
     "cannot connect to the database"),
    ({"DATABASE_URL": "sqlite:////no/such/folder/adref.db"}, ["chat"],
     "cannot connect to the database"),
    ({"ADREF_CONTENT_DIR": "no-such-folder"}, ["requests", "list"], "cannot load content"),
    ({"ADREF_CONTENT_DIR": "no-such-folder"}, ["content", "check"], "cannot read the content"),
])
def test_a_bad_configuration_is_a_clear_error_not_a_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str],
    args: list[str], message: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(main, args, input="")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert f"Error: {message}" in result.output


def test_a_database_error_never_shows_the_database_password(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://adref:s3cret-pw@127.0.0.1:1/adref")
    result = runner.invoke(main, ["requests", "list"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "Error: " in result.output and "s3cret-pw" not in result.output


def test_db_upgrade_creates_the_tables_in_an_empty_database(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{empty}")
    assert "Database is at the latest migration." in ok(runner.invoke(main, ["db", "upgrade"]))
    from bot.db import make_engine

    engine = make_engine(f"sqlite:///{empty}")
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"contact", "conversation", "inbound_event", "consent_record", "rhi_request",
            "request_event", "alembic_version"} <= tables
    # A second upgrade finds nothing to do and says the same.
    assert "latest migration" in ok(runner.invoke(main, ["db", "upgrade"]))


def test_serve_refuses_a_port_that_is_taken_with_a_clear_error(tmp_path: Path,
                                                                database_url: str) -> None:
    # A real process: waitress starts threads and opens files before it binds, which a
    # refused start leaves to the process's exit to clean up.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = adref("serve", "--port", str(port), cwd=tmp_path, exit_code=1,
                       database=database_url)
    assert f"Error: cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Adref is running" not in result.stdout


def test_serve_starts_a_web_chat_that_answers_and_stops_cleanly(tmp_path: Path,
                                                                database_url: str) -> None:
    with serving(tmp_path, database=database_url) as served:
        status, body, response = served.get("/chat")
        assert status == 200 and "Shwmae" in body
        assert response.getheader("Server") == "adref"
    assert served.returncode == 0, served.stderr
    assert f"http://127.0.0.1:{served.port}/chat" in served.stdout
    assert "Traceback" not in served.stderr
