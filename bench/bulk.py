"""A million requests on PostgreSQL in seconds: rows shaped as the app writes them, in SQL.

Each batch draws its random numbers once into a temporary table (`generate_series`, with
`setseed` so every run makes the same rows), and four INSERT ... SELECT statements turn
them into what a young person's request leaves behind (bot/inbox.py, bot/rhi.py,
bot/casework.py): a contact, a granted consent linked to the request (and a tenth who
refused first), the request itself at the step of its life it has reached, and its
timeline (created, claimed, outcome or withdrawn).

The values follow the app's rules: a reference like "K7PM-4XQ2"; the deadline 72 hours
from the start of the day they came back, or at once when it was longer ago; a phone
number only when they asked to be phoned or texted by a channel other than SMS; claims
and first contacts after the request, outcomes only on closed requests. Requests are
numbered in the order they came over the year, as the app inserts them, so a month's rows
lie together on disk as they would in production. Sealed columns
hold real `Vault.seal` values, drawn from a small pool made once: the queries never open
them, but the rows have their true width. Address hashes are SHA-256 hex, as wide as the
keyed hashes. Inbound events, conversations and the outbox are left out: no queue or
report query reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from bot.crypto import Vault
from bot.models import OUTCOMES
from bot.rhi import _ALPHABET as REFERENCE_ALPHABET  # the letters the app's codes use

BATCH = 100_000
POOL = 256  # sealed values made once and reused
# References: row number times a prime, modulo 31^8, in base 31: distinct for every row,
# and as scattered through the index as the random codes the app makes.
_CODES = len(REFERENCE_ALPHABET) ** 8
_SCATTER = 1_000_003


def _reference() -> str:
    digits = [f"substr(:alphabet, ((((i * {_SCATTER}) % {_CODES}) / "
              f"{len(REFERENCE_ALPHABET) ** k}) % {len(REFERENCE_ALPHABET)})::int + 1, 1)"
              for k in reversed(range(8))]
    return " || ".join([*digits[:4], "'-'", *digits[4:]])


# One row of random draws per request; every later column is derived from these.
_DRAWS = f"""
CREATE TEMP TABLE draws ON COMMIT DROP AS
SELECT i, {_reference()} AS reference,
       -- In the order they came, as the app inserts them: a month's rows lie together.
       CAST(:now AS timestamp) - interval '365 days' + (i - :from_id + random())
         / (:to_id - :from_id + 1) * interval '365 days' AS created,
       random() AS u_area, random() AS u_lang, random() AS u_channel, random() AS u_band,
       random() AS u_care, random() AS u_method, random() AS u_time, random() AS u_note,
       random() AS u_open, random() AS u_queued, random() AS u_withdrawn, random() AS u_urgent,
       random() AS u_claim, random() AS u_contact, random() AS u_outcome,
       random() AS u_given, random() AS u_who, random() AS u_refused, random() AS u_welsh
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS i
"""

# The request at the step of its life it has reached, as the app's columns hold it.
_SHAPED = """
CREATE TEMP TABLE shaped ON COMMIT DROP AS
WITH d AS (
  SELECT draws.*,
    CASE WHEN u_area < 0.1 THEN NULL
         ELSE (CAST(:areas AS text[]))[1 + floor((u_area - 0.1) / 0.9
                                        * cardinality(CAST(:areas AS text[])))::int] END
      AS area,
    CASE WHEN u_lang < 0.2 THEN 'cy' ELSE 'en' END AS language,
    CASE WHEN u_channel < 0.45 THEN 'telegram' WHEN u_channel < 0.85 THEN 'sms'
         ELSE 'web' END AS channel,
    CASE WHEN u_band < 0.4 THEN 'today' WHEN u_band < 0.7 THEN 'yesterday'
         WHEN u_band < 0.9 THEN 'days_2_3' ELSE 'longer' END AS band,
    CASE WHEN u_method < 0.4 THEN 'chat' WHEN u_method < 0.6 THEN 'phone'
         WHEN u_method < 0.9 THEN 'text' ELSE 'in_person' END AS method,
    -- Closed once a week old; half of the newer ones too. A few were withdrawn instead.
    CASE WHEN u_withdrawn < 0.03 THEN 'withdrawn'
         WHEN created < CAST(:now AS timestamp) - interval '7 days' OR u_open < 0.5
           THEN 'closed'
         WHEN u_queued < 0.5 THEN 'queued' ELSE 'claimed' END AS status
  FROM draws
), t AS (
  SELECT d.*,
    CASE band WHEN 'today' THEN date_trunc('day', created)
              WHEN 'yesterday' THEN date_trunc('day', created) - interval '1 day'
              WHEN 'days_2_3' THEN date_trunc('day', created) - interval '3 days' END
      AS returned_at,
    CASE WHEN status IN ('claimed', 'closed')
         THEN created - ln(1 - u_claim) * 6 * interval '1 hour' END AS claimed_at
  FROM d
)
SELECT t.*,
  greatest(coalesce(returned_at + interval '72 hours', created), created) AS due_at,
  CASE WHEN status = 'closed'
       THEN claimed_at - ln(1 - u_contact) * 30 * interval '1 hour' END AS first_contact_at,
  CASE WHEN status = 'closed'
       THEN (CAST(:outcomes AS text[]))[1 + floor(u_outcome * 5)::int] END AS outcome,
  CASE WHEN claimed_at IS NOT NULL
       THEN (CAST(:practitioners AS int[]))[1 + floor(u_who
                                           * cardinality(CAST(:practitioners AS int[])))::int]
       END AS claimed_by,
  language = 'cy' AND u_welsh < 0.8 AS welsh_worker
FROM t
"""

_CONTACTS = """
INSERT INTO contact (id, channel, address_hash, address_enc, language, role, urgent,
                     opted_out_at, created_at, last_seen_at)
SELECT i, channel, encode(sha256(CAST('bench:' || i AS bytea)), 'hex'),
       (CAST(:addresses AS bytea[]))[1 + i % :pool], language, 'young_person',
       u_urgent < 0.05, NULL, created - interval '20 minutes', created
FROM shaped
"""

_REQUESTS = """
INSERT INTO rhi_request (id, reference, contact_id, language, channel, area, returned_band,
  returned_at, due_at, in_care, contact_method, contact_time, contact_phone_enc,
  welsh_worker, note_enc, status, urgent, claimed_by, claimed_at, first_contact_at, outcome,
  outcome_note_enc, transferred_to, welsh_worker_given, created_at, withdrawn_at, closed_at)
SELECT i, reference, i, language, channel, area, band, returned_at, due_at,
  CASE WHEN u_care < 0.6 THEN 'home' WHEN u_care < 0.9 THEN 'care' ELSE 'unsaid' END,
  method,
  (ARRAY['morning', 'afternoon', 'evening', 'any'])[1 + floor(u_time * 4)::int],
  CASE WHEN method IN ('phone', 'text') AND channel <> 'sms'
       THEN (CAST(:phones AS bytea[]))[1 + i % :pool] END,
  welsh_worker,
  CASE WHEN u_note < 0.4 THEN (CAST(:notes AS bytea[]))[1 + i % :pool] END,
  status, u_urgent < 0.05, claimed_by, claimed_at, first_contact_at, outcome,
  CASE WHEN outcome IS NOT NULL AND u_note < 0.7
       THEN (CAST(:notes AS bytea[]))[1 + (i + 7) % :pool] END,
  CASE WHEN outcome = 'transferred' THEN 'Bridgend County Borough Council' END,
  CASE WHEN outcome IS NOT NULL AND welsh_worker THEN u_given < 0.7 END,
  created,
  CASE WHEN status = 'withdrawn' THEN created + interval '3 hours' END,
  CASE WHEN status = 'closed' THEN first_contact_at + interval '2 days' END
FROM shaped
"""

_CONSENTS = """
INSERT INTO consent_record (contact_id, request_id, purpose, granted, wording_version,
                            language, channel, recorded_at)
SELECT i, i, 'rhi_request', true, 'rhi-1:bench', language, channel,
       created - interval '5 minutes' FROM shaped
UNION ALL
SELECT i, NULL, 'rhi_request', false, 'rhi-1:bench', language, channel,
       created - interval '1 day' FROM shaped WHERE u_refused < 0.1
UNION ALL
SELECT i, i, 'rhi_request', false, 'withdrawal', language, channel,
       created + interval '3 hours' FROM shaped WHERE status = 'withdrawn'
"""

_EVENTS = """
INSERT INTO request_event (request_id, kind, actor, at, detail)
SELECT i, 'created', 'young_person', created,
       CASE WHEN u_urgent < 0.05 THEN '{"urgent": true}' ELSE '{"urgent": false}' END
FROM shaped
UNION ALL
SELECT i, 'claimed', 'practitioner:' || claimed_by, claimed_at, '{}'
FROM shaped WHERE claimed_at IS NOT NULL
UNION ALL
SELECT i, 'outcome', 'practitioner:' || claimed_by, first_contact_at + interval '2 days',
       '{"outcome": "' || outcome || '"}'
FROM shaped WHERE outcome IS NOT NULL
UNION ALL
SELECT i, 'withdrawn', 'young_person', created + interval '3 hours', '{}'
FROM shaped WHERE status = 'withdrawn'
"""


def pools(vault: Vault) -> dict[str, list[bytes]]:
    """Sealed values to draw from: addresses, phone numbers, notes."""
    return {
        "addresses": [vault.seal(f"+4477009{n:05d}") for n in range(POOL)],
        "phones": [vault.seal(f"+4479111{n:05d}") for n in range(POOL)],
        "notes": [vault.seal(f"I'd rather meet after school. Note {n}." + " More." * (n % 9))
                  for n in range(POOL)],
    }


def seed(engine: Engine, areas: Sequence[str], practitioners: Sequence[int], vault: Vault,
         first: int, last: int, now: datetime,
         progress: Callable[[int], None] | None = None) -> None:
    """Add requests numbered first..last (ids too), in batches, then refresh statistics."""
    sealed = pools(vault)
    params: dict[str, object] = {
        "alphabet": REFERENCE_ALPHABET, "now": now.astimezone(UTC).replace(tzinfo=None),
        "areas": list(areas), "outcomes": list(OUTCOMES),
        "practitioners": list(practitioners), "pool": POOL, "from_id": first, "to_id": last,
        **sealed}
    with engine.connect() as connection:
        connection.execute(text("SELECT setseed(:seed)"), {"seed": first / (last + 1)})
        for start in range(first, last + 1, BATCH):
            _batch(connection, params, start, min(start + BATCH - 1, last))
            if progress is not None:
                progress(min(start + BATCH - 1, last))
        for table in ("contact", "rhi_request"):
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
        connection.commit()
    # Fresh statistics, as autovacuum would have made them on a database that grew slowly:
    # without them the planner guesses, and the timings say more about the guess.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def _batch(connection: Connection, params: dict[str, object], first: int, last: int) -> None:
    for statement in (_DRAWS, _SHAPED, _CONTACTS, _REQUESTS, _CONSENTS, _EVENTS):
        connection.execute(text(statement), {**params, "first": first, "last": last})
    connection.commit()  # ON COMMIT DROP: the temporary tables go with it
