"""Rejection and hold reasons said in Vietnamese for the operator's page; the technical reason stays beside them.

Services write reasons in English for logs and integrators (`data.starts_at: 1999-01-01T19:30:00+07:00 is before
2000-01-01`); an operator reads what went wrong and which field in Vietnamese first. Unknown wordings fall back to a
sentence naming the field, never to nothing."""

import re

from services.gateway.web.i18n import N_, _

REJECTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"^dropped by an operator: ", N_("An operator stopped holding this event (their reason: %(note)s).")),
        (r"still unresolved after \d+ s\)$", N_("It waited longer than allowed for data that never arrived.")),
        (r": duplicate key$", N_("The same key appears twice in one JSON object.")),
        (r"is in the future", N_("The sending time lies in the future, beyond the allowed clock difference.")),
        (
            r"is before 2000|more than 2 years ahead",
            N_("The meeting's time is outside the allowed window (from 2000 to at most two years ahead)."),
        ),
        (r"larger than \d+ bytes", N_("The event is larger than the 1 MiB limit.")),
        (r"nested deeper than", N_("The JSON is nested more than 32 levels deep.")),
        (
            r"not valid UTF-8|unpaired surrogate|contains U\+0000",
            N_("The text holds invalid characters (broken UTF-8 or a control character)."),
        ),
        (r"not a finite number", N_("A number is not finite (NaN or Infinity).")),
        (
            r"not valid JSON|must be a JSON (object|array)|^body: (empty|not an event)|batch holds at least",
            N_("What was sent is not a valid JSON event."),
        ),
        (r"not an event this system accepts|unknown event type", N_("The system does not accept this type of event.")),
        (r"the only subtree this account may write", N_("The unit is outside what the sending account may write.")),
        (r"is not in cell|no record puts member", N_("The member does not belong to this cell on the meeting's date.")),
        (r"is cancelled", N_("The meeting has been cancelled, so this is no longer possible.")),
        (r"already held", N_("The meeting has already taken place, so it cannot be moved or cancelled.")),
        (r"belongs to another cell", N_("The meeting belongs to another cell; a meeting never changes cell.")),
        (r"above the item's maximum", N_("The points are above the criterion's maximum.")),
        (r"needs a topic", N_("A thematic meeting needs a topic.")),
        (
            r"cannot contain units|would make a cycle|is a (cell|committee), not a",
            N_("The parent unit or the kind of unit is not valid."),
        ),
        (
            r"is unknown|is not scheduled|has no minutes yet|is not in the minutes",
            N_("It refers to data not known yet."),
        ),
        (r"[Ff]ield required|[Mm]issing", N_("A required field is missing.")),
    )
)
WAITING_FOR = {
    "unit": N_("Waiting for the unit %(id)s to be known."),
    "member": N_("Waiting for the member %(id)s to be known."),
    "meeting": N_("Waiting for the meeting %(id)s to be scheduled."),
    "minutes": N_("Waiting for the minutes of the meeting %(id)s."),
    "task": N_("Waiting for the task %(id)s in the meeting's minutes."),
}
FIELDS = {
    "body": N_("the content sent"),
    "time": N_("the sending time"),
    "type": N_("the event type"),
    "id": N_("the event id"),
    "source": N_("the sending system"),
    "starts_at": N_("the meeting's time"),
    "meeting_id": N_("the meeting"),
    "cell_id": N_("the cell"),
    "parent_id": N_("the parent unit"),
    "member_id": N_("the member"),
    "chair_id": N_("the chair"),
    "recorder_id": N_("the recorder"),
    "speakers": N_("the speakers"),
    "points": N_("the points"),
    "task_id": N_("the task"),
}


def field_label(field: str | None) -> str:
    """The field in Vietnamese (`data.starts_at` → `thời gian buổi sinh hoạt`), or the code itself in quotes."""
    if not field:
        return _("the event")
    parts = [part for part in field.split(".") if not part.isdigit()]
    for part in reversed(parts):
        if part in FIELDS:
            return _(FIELDS[part])
    return f"“{field}”"


def explain_rejection(reason: str | None, field: str | None) -> str:
    """Why an event was rejected, in Vietnamese, naming the field: `Trường thời gian buổi sinh hoạt: ...`."""
    text = reason or ""
    for pattern, message in REJECTIONS:
        if pattern.search(text):
            note = text.removeprefix("dropped by an operator: ").split(" (was waiting for ")[0]
            sentence = _(message, note=note) if "%(note)s" in message else _(message)
            break
    else:
        sentence = _("The value is not valid.")
    return _("Field %(field)s: %(why)s", field=field_label(field), why=sentence)


def explain_hold(waiting_for: str | None, reason: str | None, field: str | None) -> str:
    """What a held event waits for, in Vietnamese, naming the field it came from."""
    kind, _colon, ident = (waiting_for or "").partition(":")
    message = WAITING_FOR.get(kind)
    sentence = _(message, id=ident) if message else _("It refers to data not known yet.")
    return _("Field %(field)s: %(why)s", field=field_label(field), why=sentence)
