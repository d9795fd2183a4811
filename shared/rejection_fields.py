"""A stored rejection's fields as its readers are told them, built once: meetings' reply (RejectionReply, over its
RPC), GET /v1/rejections (the gateway's RejectionRead) and `uv run python -m shared.ops rejections list` all read a
rejection by REJECTION_COLUMNS and say it by rejection_reply and public_rejection, so their fields cannot drift (an
operator's trial found the command line without `sender`, `replay_outcome`, `last_replay_field` and
`last_replay_reason_code`, which the API gave)."""

import json
from collections.abc import Mapping
from typing import Any

from shared.contracts.meetings_rpc import RejectionReply
from shared.envelope import is_reserved_source
from shared.reading import KEPT_TAIL_SQL, names_an_event, replayable_fields

ROSTER_REJUDGED_ROUTE = "undone-by-member"
"""The route a stored roster is rejected by when a member snapshot arriving after it puts a listed member elsewhere at
the meeting's start (it came in by another, earlier)."""

REJECTION_COLUMNS = (
    "rejection_id, source, event_id, type, reason, field, received_at, status, refusal::text AS refusal,"
    " last_replay_reason, last_replay_field, last_replay_at, last_replay_refusal::text AS last_replay_refusal,"
    " replay_outcome, dismissed_at, dismissed_by, dismissal_reason, message_id, sender, sender_named_by,"
    " sender_named_at, scope AS sent_scope, route AS sent_route, sources_listed,"
    " " + KEPT_TAIL_SQL.format(raw="raw") + " AS kept_tail,"
    " (SELECT json_agg(json_build_object('attempt', a.attempt, 'route', a.route, 'type', a.type, 'reason', a.reason,"
    " 'field', a.field, 'refusal', a.refusal, 'message_id', a.message_id, 'received_at', a.received_at,"
    " 'sender', a.sender, 'kept_tail', " + KEPT_TAIL_SQL.format(raw="a.raw") + ")"
    " ORDER BY a.attempt) FROM rejection_attempt AS a WHERE a.rejection_id = rejection.rejection_id)::text AS attempts"
)
"""A rejection as rejection_reply reads it from meetings' `rejection` table (search_path meetings), its every
attempt's too, each with its `kept_tail`, from which it says whether it is replayable as sent."""

PUBLIC_CODES = (("refusal", "reason_code"), ("last_replay_refusal", "last_replay_reason_code"))
"""meetings' refusal objects ({"code", ...}) and the name the API and the command line give each one's code."""


def sender_nameable(*, sender: str | None, scoped: bool, source: str | None, sources_listed: bool) -> bool:
    """True when an operator may name the account that sent a rejected event (its replay judged as that account's,
    security.md): none is recorded, and it came from a scoped integration account (`scoped`) with its sources list,
    under a source not reserved; an event from a feed over AMQP, a bulk load or an unscoped account is judged by no
    account's sources, so there is no one to name (a trial was offered the field there and refused when it used it)."""
    return sender is None and scoped and sources_listed and not is_reserved_source(source or "")


def with_refusal(row: Mapping[str, Any]) -> dict[str, Any]:
    """A held event's or a rejection's row as its reply: its `attempts` JSON text read, and each refusal (why,
    machine-readably) only when its rule gave one."""
    found = dict(row)
    if "attempts" in found:
        found["attempts"] = json.loads(found["attempts"] or "[]")
    for name in ("refusal", "last_replay_refusal"):
        if name in found:
            refusal = found.pop(name)
            found |= {name: json.loads(refusal)} if refusal else {}
    return found


def rejection_reply(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row of REJECTION_COLUMNS as meetings' reply (RejectionReply) says it: refusals as objects, whether it and
    each attempt can be replayed as sent (shared.reading.replayable_fields, each attempt by its own copy and reason,
    as a replay of that attempt is judged) and `sender_nameable` (a roster judged again after a member's change,
    stored before it kept its scope, may be: its replay reads the scope then)."""
    found = with_refusal(row)
    named = found["source"], found["event_id"]  # every attempt is of the rejection's one event
    names_event = names_an_event(*named, found["type"])
    found |= replayable_fields(found.pop("kept_tail"), found["reason"], found.get("refusal"), names_event=names_event)
    for attempt in found["attempts"]:
        attempt |= replayable_fields(
            attempt.pop("kept_tail", None),
            attempt["reason"],
            attempt.get("refusal"),
            names_event=names_an_event(*named, attempt.get("type")),
        )
    scope, route = found.pop("sent_scope"), found.pop("sent_route")
    found["sender_nameable"] = sender_nameable(
        sender=found["sender"],
        scoped=scope is not None or route == ROSTER_REJUDGED_ROUTE,
        source=found["source"],
        sources_listed=found.pop("sources_listed"),
    )
    return found


def public_codes(value: Mapping[str, Any], *, attempt: bool = False) -> dict[str, Any]:
    """A rejection's (or, `attempt`, one attempt's) reply with its refusal objects said as their codes
    (`reason_code`, and a rejection's `last_replay_reason_code`: None when the rule gave none), as POST /v1/events
    answers each event's; a code already given stays."""
    said = dict(value)
    for refusal, code in PUBLIC_CODES[:1] if attempt else PUBLIC_CODES:
        given = said.pop(refusal, None)
        if code not in said:
            said[code] = str(given.get("code")) if isinstance(given, dict) and given.get("code") else None
    return said


def public_rejection(reply: Mapping[str, Any]) -> dict[str, Any]:
    """A rejection as GET /v1/rejections and `rejections list` say it: meetings' reply (rejection_reply) read as
    RejectionReply (its every field, defaults filled), then public_codes, its attempts' too (datetimes stay
    datetimes)."""
    read = RejectionReply.model_validate(dict(reply)).model_dump()
    read["attempts"] = [public_codes(attempt, attempt=True) for attempt in read["attempts"]]
    return public_codes(read)
