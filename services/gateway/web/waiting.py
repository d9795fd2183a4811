"""Other systems' facts about a meeting that wait for its secretary, said in Vietnamese on its pages.

meetings holds an integration's adoption of the minutes sent before the minutes or the attendance, and its completion
of a task not (yet) in the minutes (services/meetings/handlers/apply.py), until the secretary records what it waits
for; then it is applied. A hold runs out CHIBO_HOLD_TIMEOUT_SECONDS (24 h) after the fact came: it is then rejected
and not recorded (CONTRACT.md), so the secretary records it by hand. A trial's secretary was told only to record the
attendance first, not that the handbook's adoption was waiting for it.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from services.gateway.web.forms import HELD_WHAT
from services.gateway.web.i18n import N_, _, format_moment

ADOPTION = N_(
    "The adoption of the minutes sent by %(sender)s at %(when)s is waiting for %(what)s: it will be recorded as soon as"
    " %(what)s is recorded. If %(what)s is still not recorded by %(until)s, the adoption will be refused and not"
    " recorded; then record the adoption of the minutes yourself once %(what)s is recorded."
)
COMPLETION = N_(
    "The completion of the task %(task)s sent by %(sender)s at %(when)s is waiting for the task to be in the minutes:"
    " it will be recorded as soon as minutes with this task are recorded. If the minutes still do not hold this task"
    " by %(until)s, the completion will be refused and not recorded; then mark the task done yourself once it is in"
    " the minutes."
)
OTHER = N_(
    "A fact about %(fact)s sent by %(sender)s at %(when)s is waiting for %(what)s: it will be recorded as soon as"
    " %(what)s is recorded. If %(what)s is still not recorded by %(until)s, it will be refused and not recorded."
)
"""Another fact whose event type forms.HELD_WHAT names (`Dữ liệu về kết quả chấm điểm ...`): a secretary reads what it
is about, never the event type (`meeting.assessed.v1`)."""
UNNAMED = N_(
    "Another fact sent by %(sender)s at %(when)s is waiting for %(what)s: it will be recorded as soon as %(what)s is"
    " recorded. If %(what)s is still not recorded by %(until)s, it will be refused and not recorded."
)
"""A fact of a type no sentence names (one a later meetings holds on the secretary's records): `Một dữ liệu khác`."""
WHAT = {
    "attendance": N_("the attendance"),
    "minutes": N_("the minutes"),
    "minutes_and_attendance": N_("the minutes and the attendance"),
    "task": N_("the task in the minutes"),
}
"""What a fact waits for (WaitingFactReply.waiting_for), as the sentences name it."""
TITLE = N_("Sent by other systems, waiting to be recorded")
"""The heading of the meeting page's list of waiting facts."""
NAMED_SENDER = N_("the system %(name)s")
UNNAMED_SENDER = N_("the system with the source %(source)s")


def waiting_sentences(facts: Sequence[Mapping[str, Any]], *, attendance_recorded: bool) -> list[str]:
    """One sentence a waiting fact (handlers.waiting_named's dicts, oldest first): what it is (in Vietnamese, never by
    its event type), who sent it (the account its source is registered to, else the source) and when, what it waits
    for, and what happens when its hold runs out. An adoption waiting for the minutes of a meeting without attendance
    waits for both (it is judged again on the attendance once the minutes come)."""
    sentences = []
    for fact in facts:
        name = fact.get("source_name")
        sender = _(NAMED_SENDER, name=name) if name else _(UNNAMED_SENDER, source=fact["source"])
        waits = fact["waiting_for"]
        if waits == "minutes" and not attendance_recorded:
            waits = "minutes_and_attendance"
        values = {
            "sender": sender,
            "when": format_moment(fact["held_at"]),
            "until": format_moment(fact["expires_at"]),
            "what": _(WHAT[waits]),
        }
        if fact["type"] == "minutes.approved.v1":
            sentences.append(_(ADOPTION, **values))
        elif fact["type"] == "task.completed.v1" and fact.get("task_id"):
            sentences.append(_(COMPLETION, task=f"“{fact['task_id']}”", **values))
        elif fact["type"] in HELD_WHAT:
            sentences.append(_(OTHER, fact=_(HELD_WHAT[fact["type"]]), **values))
        else:
            sentences.append(_(UNNAMED, **values))
    return sentences
