"""A meeting's score explained in Vietnamese: each criterion line's reason parts (shared.reasons: a code and its
values) are said again from the message catalog by their code, figures formatted the Vietnamese way. evaluation's
English `reason` is not read, so rewording it changes nothing here, except for lines stored before evaluation coded
its reasons: those are still read from the English wording, by the fallback at the end of this module only."""

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.gateway.web.i18n import (
    N_,
    _,
    format_moment,
    format_number,
    format_period,
    format_rating,
    format_share,
    format_short_date,
    parse_moment,
)
from shared.reasons import ROLE_LABEL, ReasonCode, ReasonPart

SEE_FACTS = N_("see the recorded facts of the meeting")
"""Said for a part this gateway cannot word (a code newer than it, or an old reason no pattern knows)."""


KIND_WORDS = {
    "content": N_("the content"),
    "draft_resolution": N_("the draft resolution"),
    "minutes": N_("the minutes"),
    "resolution": N_("the resolution"),
    "other": N_("other documents"),
    "regular": N_("a regular"),
    "thematic": N_("a thematic"),
    "combined": N_("a combined"),
    "extraordinary": N_("an extraordinary"),
    "roster": N_("the roster"),
    "conclusions": N_("the conclusions"),
    "speakers": N_("the speakers"),
}
"""Document kinds, minutes parts and meeting kinds (with their article) as the catalog names them."""
ROLE_WORDS = {
    "cell_committee": N_("the cell committee"),
    "members_vote": N_("the members' vote"),
    "upper_monitor": N_("the upper-level monitor"),
}
"""Assessor roles (shared.reasons.ReasonPart.role) as the catalog names them."""


def _word(word: str) -> str:
    return _(KIND_WORDS.get(word, word))


def _any_of(kinds: Sequence[str] | None) -> str:
    """Document kinds of which any one counts: `nội dung sinh hoạt hoặc dự thảo nghị quyết`."""
    return _(" or ").join(_word(kind) for kind in kinds or ())


def _all_of(kinds: Sequence[str] | None) -> str:
    """Document kinds or minutes parts that each count: `biên bản, nghị quyết`."""
    return _(", ").join(_word(kind) for kind in kinds or ())


def _count(value: int | None) -> str:
    return format_number(value, digits=0)  # `1.200` members, as every figure the app writes; an em dash for none


def _figure(value: float | None) -> str:
    return format_number(value)


def _moment(value: datetime | None) -> str:
    return format_moment(value)


def _published_late(p: ReasonPart) -> str:
    """Documents first published too late, as a person says it: only so many hours ahead, after the start (and so
    not the hours the rule asks ahead), or, when how far ahead is not known, not the hours the rule asks."""
    kinds, when = _any_of(p.kinds), _moment(p.published_at)
    if p.ahead_hours is not None and p.ahead_hours > 0 and p.lead_hours:
        return _(
            "%(kinds)s first published at %(when)s, only %(ahead)s hours before the start (at least %(lead)s hours "
            "required)",
            kinds=kinds,
            when=when,
            ahead=_figure(p.ahead_hours),
            lead=_figure(p.lead_hours),
        )
    if p.ahead_hours is None and p.lead_hours:
        return _(
            "%(kinds)s first published at %(when)s, less than %(lead)s hours before the meeting",
            kinds=kinds,
            when=when,
            lead=_figure(p.lead_hours),
        )
    if p.lead_hours:
        return _(
            "%(kinds)s first published at %(when)s, after the start, less than %(lead)s hours before the meeting",
            kinds=kinds,
            when=when,
            lead=_figure(p.lead_hours),
        )
    return _("%(kinds)s first published at %(when)s, after the start", kinds=kinds, when=when)


def _at_least_before_start(lead_hours: float | None) -> str:
    """What the rule asked: "at least 24 hours before the start" (a document published 59.5 hours ahead is not
    "24 hours before"), or "before the start"."""
    if lead_hours:
        return _("at least %(hours)s hours before the start", hours=format_number(lead_hours))
    return _("before the start")


def _role(role: str | None) -> str:
    return _(ROLE_WORDS.get(role or "", role or ""))


BY_CODE: dict[ReasonCode, Callable[[ReasonPart], str]] = {
    ReasonCode.NO_MINUTES: lambda p: _("no minutes recorded yet"),
    ReasonCode.NO_ROSTER: lambda p: _("no attendance recorded yet"),
    ReasonCode.NOBODY_EXPECTED: lambda p: _("nobody on the roster counts"),
    ReasonCode.DURATION_SHORT: lambda p: (
        _(
            "lasted %(lasted)s minutes of the %(required)s required (%(short)s minutes short)",
            lasted=_figure(p.lasted),
            required=_count(p.required),
            short=_figure(p.short),
        )
        if p.short
        else _(
            "lasted %(lasted)s minutes, the %(required)s required met",
            lasted=_figure(p.lasted),
            required=_count(p.required),
        )
    ),
    ReasonCode.DURATION_HALF: lambda p: _(
        "lasted %(lasted)s minutes of the %(required)s required: at least half",
        lasted=_figure(p.lasted),
        required=_count(p.required),
    ),
    ReasonCode.DURATION_BELOW_HALF: lambda p: _(
        "lasted %(lasted)s minutes of the %(required)s required: below half",
        lasted=_figure(p.lasted),
        required=_count(p.required),
    ),
    ReasonCode.ATTENDANCE_RATE: lambda p: _(
        "%(present)s of %(counted)s present (%(rate)s)",
        present=_count(p.present),
        counted=_count(p.counted),
        rate=format_share(p.rate),
    ),
    ReasonCode.ABSENT_WITHOUT_EXCUSE: lambda p: _("%(count)s absent without excuse", count=_count(p.count)),
    # a longest run of 0 or 1 is no run at all: "(dài nhất 0 buổi)" read oddly, so it is left out
    ReasonCode.EXCUSED_RUN_BONUS: lambda p: (
        _(
            "bonus point: nobody excused more than %(limit)s meetings in a row (longest %(longest)s)",
            limit=_count(p.limit),
            longest=_count(p.longest),
        )
        if (p.longest or 0) > 1
        else _("bonus point: nobody excused more than %(limit)s meetings in a row", limit=_count(p.limit))
    ),
    ReasonCode.EXCUSED_RUN_NO_BONUS: lambda p: _(
        "no bonus point: a member excused %(run)s meetings in a row", run=_count(p.longest)
    ),
    ReasonCode.ATTENDANCE_RATE_LOW: lambda p: _(
        "attendance %(rate)s, below the required %(required)s",
        rate=format_share(p.rate),
        required=format_share(p.required_rate),
    ),
    ReasonCode.ABSENCE_RUN: lambda p: _("a member absent %(run)s meetings in a row", run=_count(p.longest)),
    ReasonCode.ATTENDANCE_CHECK_MET: lambda p: (
        _(
            "attendance %(rate)s, no unexcused absence, longest absence run %(run)s",
            rate=format_share(p.rate),
            run=_count(p.longest),
        )
        if (p.longest or 0) > 1
        else _("attendance %(rate)s, no unexcused absence, nobody absent twice in a row", rate=format_share(p.rate))
    ),
    ReasonCode.DOCUMENTS_NOT_PUBLISHED: lambda p: _("%(kinds)s not published", kinds=_any_of(p.kinds)),
    ReasonCode.DOCUMENTS_PUBLISHED_LATE: _published_late,
    ReasonCode.DOCUMENTS_PUBLISHED: lambda p: (
        _(
            "%(kinds)s published at %(when)s, %(ahead)s hours before the start (at least %(lead)s hours required)",
            kinds=_any_of(p.kinds),
            when=_moment(p.published_at),
            ahead=_figure(p.ahead_hours),
            lead=_figure(p.lead_hours),
        )
        if p.ahead_hours is not None and p.lead_hours
        else _(
            "%(kinds)s published at %(when)s, %(ahead)s hours before the start",
            kinds=_any_of(p.kinds),
            when=_moment(p.published_at),
            ahead=_figure(p.ahead_hours),
        )
        if p.ahead_hours is not None
        else _(
            "%(kinds)s published at %(when)s, %(lead)s",
            kinds=_any_of(p.kinds),
            when=_moment(p.published_at),
            lead=_at_least_before_start(p.lead_hours),
        )
    ),
    ReasonCode.NO_COMMITTEE: lambda p: _("the cell has no cell committee"),
    ReasonCode.COMMITTEE_PREPARED: lambda p: _("the cell committee met beforehand"),
    ReasonCode.COMMITTEE_NOT_PREPARED: lambda p: _("no record that the cell committee met beforehand"),
    ReasonCode.NOTIFIED: lambda p: _("members notified at %(when)s", when=_moment(p.notified_at)),
    ReasonCode.NOT_NOTIFIED: lambda p: _("members not notified before the start"),
    ReasonCode.NOBODY_PRESENT: lambda p: _(
        "nobody was present, so there is no share of present members who spoke to score (%(speakers)s named as"
        " speakers in the minutes)",
        speakers=_count(p.speakers),
    ),
    ReasonCode.SPEAKERS_SHARE: lambda p: _(
        "%(speakers)s of %(present)s present members spoke (%(rate)s)",
        speakers=_count(p.speakers),
        present=_count(p.present),
        rate=format_share(p.rate),
    ),
    ReasonCode.MINUTES_LACK: lambda p: _("the minutes lack %(parts)s", parts=_all_of(p.kinds)),
    ReasonCode.MINUTES_COMPLETE: lambda p: _("roster, content, conclusions, speakers and resolutions recorded"),
    ReasonCode.SELF_CRITICISM_UNRECORDED: lambda p: _("time of self-criticism not recorded"),
    ReasonCode.SELF_CRITICISM_WITHIN: lambda p: _(
        "%(spent)s minutes of self-criticism (%(low)s–%(high)s)",
        spent=_count(p.spent),
        low=_count(p.low),
        high=_count(p.high),
    ),
    ReasonCode.SELF_CRITICISM_OUTSIDE: lambda p: _(
        "%(spent)s minutes of self-criticism, outside %(low)s–%(high)s",
        spent=_count(p.spent),
        low=_count(p.low),
        high=_count(p.high),
    ),
    ReasonCode.TASKS_ON_TIME: lambda p: _(
        "%(done)s of %(total)s tasks of the previous meeting done on time (%(rate)s)",
        done=_count(p.done),
        total=_count(p.total),
        rate=format_share(p.rate),
    ),
    ReasonCode.NO_RESOLUTION: lambda p: _("no resolution in the minutes"),
    ReasonCode.RESOLUTION_NOT_ADOPTED: lambda p: _(
        "resolution %(number)s: %(votes)s in favour of %(cast)s votes cast, not above half",
        number=_count(p.number),
        votes=_count(p.votes),
        cast=_count(p.cast),
    ),
    ReasonCode.VOTES_OVER_PRESENT: lambda p: (
        _(
            "resolution %(number)s: %(cast)s votes cast but only %(present)s members present, more votes than voters",
            number=_count(p.number),
            cast=_count(p.cast),
            present=_count(p.present),
        )
        if p.present
        else _(
            "resolution %(number)s: %(cast)s votes cast while no member was present",
            number=_count(p.number),
            cast=_count(p.cast),
        )
    ),
    ReasonCode.VOTES_OVER_MEMBERS: lambda p: _(
        "resolution %(number)s: %(cast)s votes cast but the cell had only %(members)s members at the meeting's start,"
        " more votes than voters",
        number=_count(p.number),
        cast=_count(p.cast),
        members=_count(p.count),
    ),
    ReasonCode.RESOLUTIONS_ADOPTED: lambda p: _(
        "%(count)s resolution(s), each adopted by more than half of the votes cast", count=_count(p.count)
    ),
    ReasonCode.MINUTES_APPROVED_AND_TASKS: lambda p: _(
        "minutes adopted and %(count)s task(s) assigned", count=_count(p.count)
    ),
    ReasonCode.MINUTES_NOT_APPROVED: lambda p: _("minutes not adopted"),
    ReasonCode.MINUTES_ADOPTED_UNVOTED: lambda p: _("minutes said adopted, but no vote on them was recorded"),
    ReasonCode.NO_TASK_ASSIGNED: lambda p: _("no task assigned"),
    ReasonCode.FINAL_DOCUMENTS_LATE: lambda p: _(
        "%(kinds)s not published within %(hours)s hours of the end", kinds=_all_of(p.kinds), hours=_figure(p.hours)
    ),
    ReasonCode.FINAL_DOCUMENTS_PUBLISHED: lambda p: _(
        "%(kinds)s published within %(hours)s hours of the end", kinds=_all_of(p.kinds), hours=_figure(p.hours)
    ),
    ReasonCode.FINAL_DOCUMENTS_PENDING: lambda p: _(
        "%(kinds)s not published yet: due by %(deadline)s (within %(hours)s hours of the end)",
        kinds=_all_of(p.kinds),
        deadline=_moment(p.deadline),
        hours=_figure(p.hours),
    ),
    ReasonCode.NOT_APPLICABLE: lambda p: _("not applicable to %(kind)s meeting", kind=_word(p.kind or "")),
    ReasonCode.NO_PREVIOUS_MEETING: lambda p: _("no previous held regular or combined meeting"),
    ReasonCode.PREVIOUS_NO_TASKS: lambda p: _("the previous meeting assigned no tasks"),
    ReasonCode.PREVIOUS_RECORDED_LATE: lambda p: _(
        "the score was recalculated because the meeting of %(day)s was recorded later, after this meeting was scored",
        day=format_short_date(p.previous_start),
    ),
    ReasonCode.AWAITING_ASSESSMENT: lambda p: _("awaiting assessment"),
    ReasonCode.ASSESSED: lambda p: _("assessed by %(who)s", who=_role(p.role)),
    ReasonCode.ASSESSED_CAPPED: lambda p: _(
        "%(given)s points given by %(who)s, capped at %(max)s",
        given=_figure(p.given),
        who=_role(p.role),
        max=_figure(p.max),
    ),
}
"""Each reason code's Vietnamese wording, from its values (never from the English text)."""


def _sentence(parts: Sequence[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


NOTIFIED_DECLARED = N_("members notified at %(when)s (as declared by the secretary, not sent through chibo)")
"""The notice part of a meeting its secretary recorded after it was held, its notice time before that recording: the
time they typed (the cell told its members by other means, README "already held"), which chibo did not send. DOMAIN.md
`preparation.notified` ("members notified before the start") counts it; the reader is told whose time it is."""


def declared_notice(part: ReasonPart, held_recorded_at: datetime | str | None) -> bool:
    """Whether a notice part (`notified`) names a time the secretary declared: the meeting was recorded after it was
    held (`held_recorded_at`, a moment or its ISO text) and the notice is before that recording (chibo's own notice
    of such a meeting is the recording itself)."""
    recorded = parse_moment(held_recorded_at) if held_recorded_at is not None else None
    notified = part.notified_at
    return part.code == ReasonCode.NOTIFIED and recorded is not None and notified is not None and notified < recorded


def explain_part(part: ReasonPart, held_recorded_at: datetime | str | None = None) -> str:
    """One reason part in Vietnamese, by its code (`Sinh hoạt 60 phút so với 90 phút quy định (thiếu 30 phút)`, not
    capitalised); a code this gateway does not know yet reads as "see the recorded facts". `held_recorded_at`: when
    the meeting was recorded after it was held, if it was (a notice before it is said as declared: declared_notice)."""
    if declared_notice(part, held_recorded_at):
        return _(NOTIFIED_DECLARED, when=_moment(part.notified_at))
    say = BY_CODE.get(part.code) if isinstance(part.code, ReasonCode) else None
    return say(part) if say else _(SEE_FACTS)


def explain_parts(parts: Sequence[ReasonPart], held_recorded_at: datetime | str | None = None) -> str:
    """A line's reason parts in Vietnamese, joined by "; " and capitalised (`held_recorded_at`: explain_part)."""
    return _sentence([explain_part(part, held_recorded_at) for part in parts])


def explain_line(line: Mapping[str, Any], held_recorded_at: datetime | str | None = None) -> str:
    """A criterion line's explanation in Vietnamese: by its coded `parts` (CriterionReply.parts, as models or their
    dicts); only a line stored before evaluation coded its reasons (no parts) is read from its English `reason`.
    `held_recorded_at`: when its meeting was recorded after it was held, None if it was not (explain_part)."""
    try:
        parts = [ReasonPart.model_validate(part) for part in line.get("parts") or ()]
    except ValidationError:
        parts = []
    if parts:
        return explain_parts(parts, held_recorded_at)
    return explain_legacy_reason(str(line.get("reason") or ""), held_recorded_at)


def item_names(framework: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Item code → (criterion group name, item name) from the framework document (Vietnamese data)."""
    names: dict[str, tuple[str, str]] = {}
    for group in (framework or {}).get("criteria") or (framework or {}).get("groups") or []:
        for item in group.get("items") or []:
            names[str(item.get("code"))] = (str(group.get("name") or ""), str(item.get("name") or item.get("code")))
    return names


KIND_ITEM_NAMES = {("conduct.regular_content", "extraordinary"): N_("Content of the extraordinary meeting")}
"""Item names said for a meeting kind in place of the framework's, which names an item after the kinds it mostly
applies to: DOMAIN.md's `conduct.regular_content` (framework name "Nội dung sinh hoạt thường kỳ") applies to
regular, combined and extraordinary meetings, and an extraordinary meeting's form read "thường kỳ" (a trial, h468)."""


def item_name_for(code: str, name: str, kind: str | None) -> str:
    """The name of the item `code` (the framework's `name`) as said for a meeting of `kind`: KIND_ITEM_NAMES."""
    said = KIND_ITEM_NAMES.get((code, kind or ""))
    return _(said) if said is not None else name


def explained_lines(
    score: dict[str, Any],
    framework: dict[str, Any] | None,
    kind: str | None = None,
    held_recorded_at: datetime | str | None = None,
) -> list[dict[str, Any]]:
    """The score's criteria with Vietnamese names (as said for a meeting of `kind`: item_name_for) and explanations
    (for a meeting recorded after it was held at `held_recorded_at`: explain_part), grouped in framework order."""
    names = item_names(framework)
    lines = []
    for line in score.get("criteria") or []:
        group, name = names.get(line["code"], ("", line["code"]))
        lines.append(
            {
                **line,
                "group": group,
                "name": item_name_for(line["code"], name, kind),
                "explanation": explain_line(line, held_recorded_at),
                "source_label": _("automatic") if line.get("source") == "auto" else _("assessed by people"),
            }
        )
    return lines


def gate_note(score: Mapping[str, Any] | None, framework: dict[str, Any] | None) -> str | None:
    """Why a score in Good's band is rated lower, in Vietnamese, when the framework's gate lowered it (the score's
    `gate`, reads.score_gate): `Đạt 95,8 điểm nhưng hạ từ Tốt xuống Khá vì chưa đạt điểm tối đa ở: Tỷ lệ đảng viên
    có mặt.`, the items by their names in `framework`; `Tạm tính đạt …` for a provisional score. None when no gate
    lowered the rating (or that is not known)."""
    gate = (score or {}).get("gate") or {}
    if score is None or not gate.get("applied"):
        return None
    names = item_names(framework)
    values = {
        "score": format_number(score.get("score")),
        "by_points": format_rating(gate.get("rating_by_points")),
        "rating": format_rating(score.get("rating")),
        "items": _(", ").join(names.get(str(code), ("", str(code)))[1] for code in gate.get("items_short") or ()),
    }
    if score.get("provisional"):
        return _(
            "Provisionally %(score)s points, but lowered from %(by_points)s to %(rating)s because these items are not "
            "at full points: %(items)s.",
            **values,
        )
    return _(
        "Scored %(score)s points, but lowered from %(by_points)s to %(rating)s because these items are not at full "
        "points: %(items)s.",
        **values,
    )


# ---- Fallback for lines stored before evaluation coded its reasons (no `parts`) ------------------------------------
# Only explain_line calls this, and only for such lines: it reads evaluation's English wording of that time back into
# the parts it came from, then says them by BY_CODE like any other line. Once every stored score has been rescored
# (each scoring stores the parts), LEGACY_PATTERNS and explain_legacy_reason can go.

Parse = Callable[[re.Match[str]], ReasonPart]
ROLE_BY_LABEL = {label: role for role, label in ROLE_LABEL.items()}
"""The assessor role an old English reason names (`upper-level monitor` → upper_monitor)."""


def _share(value: str) -> float:
    return float(value.rstrip("%")) / 100


def _lead_hours(value: str) -> float:
    hours = re.match(r"^([0-9.]+) h before the start$", value)
    return float(hours.group(1)) if hours else 0.0


def _at(value: str) -> datetime | None:
    return parse_moment(value)


def _plain(code: ReasonCode) -> Parse:
    return lambda m: ReasonPart(code=code)


LEGACY_PATTERNS: list[tuple[re.Pattern[str], Parse]] = [
    (re.compile(r"^no minutes recorded yet$"), _plain(ReasonCode.NO_MINUTES)),
    (re.compile(r"^no attendance recorded yet$"), _plain(ReasonCode.NO_ROSTER)),
    (re.compile(r"^nobody expected on the roster$"), _plain(ReasonCode.NOBODY_EXPECTED)),
    (
        re.compile(r"^lasted ([0-9.]+) min of ([0-9]+) required(?: \(([0-9.]+) min short\))?$"),
        lambda m: ReasonPart(
            code=ReasonCode.DURATION_SHORT, lasted=float(m[1]), required=int(m[2]), short=float(m[3] or 0)
        ),
    ),
    (
        re.compile(r"^lasted ([0-9.]+) min of ([0-9]+) required: at least half$"),
        lambda m: ReasonPart(code=ReasonCode.DURATION_HALF, lasted=float(m[1]), required=int(m[2])),
    ),
    (
        re.compile(r"^lasted ([0-9.]+) min of ([0-9]+) required: below half$"),
        lambda m: ReasonPart(code=ReasonCode.DURATION_BELOW_HALF, lasted=float(m[1]), required=int(m[2])),
    ),
    (
        re.compile(r"^([0-9]+)/([0-9]+) present \(([0-9.]+%)\)$"),
        lambda m: ReasonPart(code=ReasonCode.ATTENDANCE_RATE, present=int(m[1]), counted=int(m[2]), rate=_share(m[3])),
    ),
    (
        re.compile(r"^([0-9]+) absent without excuse$"),
        lambda m: ReasonPart(code=ReasonCode.ABSENT_WITHOUT_EXCUSE, count=int(m[1])),
    ),
    (
        re.compile(r"^bonus: no excused-absence run above ([0-9]+) \(longest ([0-9]+)\)$"),
        lambda m: ReasonPart(code=ReasonCode.EXCUSED_RUN_BONUS, limit=int(m[1]), longest=int(m[2])),
    ),
    (
        re.compile(r"^no bonus: an excused-absence run of ([0-9]+) meetings$"),
        lambda m: ReasonPart(code=ReasonCode.EXCUSED_RUN_NO_BONUS, longest=int(m[1])),
    ),
    (
        re.compile(r"^rate ([0-9.]+%) not (above|at least) ([0-9.]+%)$"),
        lambda m: ReasonPart(
            code=ReasonCode.ATTENDANCE_RATE_LOW, rate=_share(m[1]), strict=m[2] == "above", required_rate=_share(m[3])
        ),
    ),
    (
        re.compile(r"^a member absent ([0-9]+) meetings in a row$"),
        lambda m: ReasonPart(code=ReasonCode.ABSENCE_RUN, longest=int(m[1])),
    ),
    (
        re.compile(r"^rate ([0-9.]+%), no unexcused absence, longest absence run ([0-9]+)$"),
        lambda m: ReasonPart(code=ReasonCode.ATTENDANCE_CHECK_MET, rate=_share(m[1]), longest=int(m[2])),
    ),
    (
        re.compile(r"^no (\S+) published$"),
        lambda m: ReasonPart(code=ReasonCode.DOCUMENTS_NOT_PUBLISHED, kinds=tuple(m[1].split("/"))),
    ),
    (
        re.compile(r"^first (\S+) published (\S+), not (.+) \((\S+)\)$"),
        lambda m: ReasonPart(
            code=ReasonCode.DOCUMENTS_PUBLISHED_LATE,
            kinds=tuple(m[1].split("/")),
            published_at=_at(m[2]),
            lead_hours=_lead_hours(m[3]),
            deadline=_at(m[4]),
        ),
    ),
    (
        re.compile(
            r"^first (\S+) published (\S+), only ([0-9.]+) h ahead of the start \(at least ([0-9.]+) h required\)$"
        ),
        lambda m: ReasonPart(
            code=ReasonCode.DOCUMENTS_PUBLISHED_LATE,
            kinds=tuple(m[1].split("/")),
            published_at=_at(m[2]),
            ahead_hours=float(m[3]),
            lead_hours=float(m[4]),
        ),
    ),
    (
        re.compile(r"^(\S+) published (\S+), ([0-9.]+) h ahead of the start(?: \(at least ([0-9.]+) h required\))?$"),
        lambda m: ReasonPart(
            code=ReasonCode.DOCUMENTS_PUBLISHED,
            kinds=tuple(m[1].split("/")),
            published_at=_at(m[2]),
            ahead_hours=float(m[3]),
            lead_hours=float(m[4]) if m[4] else 0.0,
        ),
    ),
    (
        re.compile(r"^(\S+) published (\S+), (.*before the start)$"),
        lambda m: ReasonPart(
            code=ReasonCode.DOCUMENTS_PUBLISHED,
            kinds=tuple(m[1].split("/")),
            published_at=_at(m[2]),
            lead_hours=_lead_hours(m[3]),
        ),
    ),
    (re.compile(r"^the cell has no committee$"), _plain(ReasonCode.NO_COMMITTEE)),
    (re.compile(r"^the cell committee met beforehand$"), _plain(ReasonCode.COMMITTEE_PREPARED)),
    (
        re.compile(r"^no record that the cell committee met beforehand$"),
        _plain(ReasonCode.COMMITTEE_NOT_PREPARED),
    ),
    (re.compile(r"^members notified (\S+)$"), lambda m: ReasonPart(code=ReasonCode.NOTIFIED, notified_at=_at(m[1]))),
    (re.compile(r"^members not notified before the start$"), _plain(ReasonCode.NOT_NOTIFIED)),
    (
        re.compile(r"^([0-9]+) of ([0-9]+) present members spoke \(([0-9.]+%)\)$"),
        lambda m: ReasonPart(code=ReasonCode.SPEAKERS_SHARE, speakers=int(m[1]), present=int(m[2]), rate=_share(m[3])),
    ),
    (
        re.compile(
            r"^nobody present on the roster, so no share of present members who spoke"
            r" \(([0-9]+) named in the minutes\)$"
        ),
        lambda m: ReasonPart(code=ReasonCode.NOBODY_PRESENT, speakers=int(m[1])),
    ),
    (
        re.compile(r"^minutes lack (.+)$"),
        lambda m: ReasonPart(code=ReasonCode.MINUTES_LACK, kinds=tuple(m[1].split(", "))),
    ),
    (
        re.compile(r"^roster, content, conclusions, speakers and resolutions recorded$"),
        _plain(ReasonCode.MINUTES_COMPLETE),
    ),
    (re.compile(r"^self-criticism time not recorded$"), _plain(ReasonCode.SELF_CRITICISM_UNRECORDED)),
    (
        re.compile(r"^([0-9]+) min of self-criticism \(([0-9]+)–([0-9]+)\)$"),
        lambda m: ReasonPart(code=ReasonCode.SELF_CRITICISM_WITHIN, spent=int(m[1]), low=int(m[2]), high=int(m[3])),
    ),
    (
        re.compile(r"^([0-9]+) min of self-criticism, outside ([0-9]+)–([0-9]+)$"),
        lambda m: ReasonPart(code=ReasonCode.SELF_CRITICISM_OUTSIDE, spent=int(m[1]), low=int(m[2]), high=int(m[3])),
    ),
    (
        re.compile(r"^([0-9]+) of ([0-9]+) tasks of the previous meeting done on time \(([0-9.]+%)\)$"),
        lambda m: ReasonPart(code=ReasonCode.TASKS_ON_TIME, done=int(m[1]), total=int(m[2]), rate=_share(m[3])),
    ),
    (re.compile(r"^no resolution in the minutes$"), _plain(ReasonCode.NO_RESOLUTION)),
    (
        re.compile(r"^resolution ([0-9]+): ([0-9]+) votes cast with ([0-9]+) members present, more votes than voters$"),
        lambda m: ReasonPart(code=ReasonCode.VOTES_OVER_PRESENT, number=int(m[1]), cast=int(m[2]), present=int(m[3])),
    ),
    (
        re.compile(
            r"^resolution ([0-9]+): ([0-9]+) votes cast with ([0-9]+) members in the cell at the meeting's start,"
            r" more votes than voters$"
        ),
        lambda m: ReasonPart(code=ReasonCode.VOTES_OVER_MEMBERS, number=int(m[1]), cast=int(m[2]), count=int(m[3])),
    ),
    (
        re.compile(r"^resolution ([0-9]+): ([0-9]+) for of ([0-9]+) votes cast, not above half$"),
        lambda m: ReasonPart(code=ReasonCode.RESOLUTION_NOT_ADOPTED, number=int(m[1]), votes=int(m[2]), cast=int(m[3])),
    ),
    (
        re.compile(r"^([0-9]+) resolution\(s\), each adopted by more than half of the votes cast$"),
        lambda m: ReasonPart(code=ReasonCode.RESOLUTIONS_ADOPTED, count=int(m[1])),
    ),
    (
        re.compile(r"^minutes approved and ([0-9]+) task\(s\) assigned$"),
        lambda m: ReasonPart(code=ReasonCode.MINUTES_APPROVED_AND_TASKS, count=int(m[1])),
    ),
    (re.compile(r"^minutes not approved$"), _plain(ReasonCode.MINUTES_NOT_APPROVED)),
    (re.compile(r"^minutes adopted with no vote recorded$"), _plain(ReasonCode.MINUTES_ADOPTED_UNVOTED)),
    (re.compile(r"^no task assigned$"), _plain(ReasonCode.NO_TASK_ASSIGNED)),
    (
        re.compile(r"^(.+) not published yet: due within ([0-9.]+) h of the end, by (\S+)$"),
        lambda m: ReasonPart(
            code=ReasonCode.FINAL_DOCUMENTS_PENDING,
            kinds=tuple(m[1].split(", ")),
            hours=float(m[2]),
            deadline=_at(m[3]),
        ),
    ),
    (
        re.compile(r"^(.+) not published within ([0-9.]+) h of the end$"),
        lambda m: ReasonPart(code=ReasonCode.FINAL_DOCUMENTS_LATE, kinds=tuple(m[1].split(", ")), hours=float(m[2])),
    ),
    (
        re.compile(r"^(.+) published within ([0-9.]+) h of the end$"),
        lambda m: ReasonPart(
            code=ReasonCode.FINAL_DOCUMENTS_PUBLISHED, kinds=tuple(m[1].split(", ")), hours=float(m[2])
        ),
    ),
    (
        re.compile(r"^not applicable to (?:a|an) (\w+) meeting$"),
        lambda m: ReasonPart(code=ReasonCode.NOT_APPLICABLE, kind=m[1]),
    ),
    (
        re.compile(r"^no previous held regular or combined meeting$"),
        _plain(ReasonCode.NO_PREVIOUS_MEETING),
    ),
    (re.compile(r"^the previous meeting assigned no tasks$"), _plain(ReasonCode.PREVIOUS_NO_TASKS)),
    (
        re.compile(r"^score recalculated: the previous meeting of (\S+) was recorded after this one was scored$"),
        lambda m: ReasonPart(code=ReasonCode.PREVIOUS_RECORDED_LATE, previous_start=m[1]),
    ),
    (re.compile(r"^awaiting assessment$"), _plain(ReasonCode.AWAITING_ASSESSMENT)),
    (
        re.compile(r"^assessed ([0-9.]+) by the (.+), capped at ([0-9.]+)$"),
        lambda m: ReasonPart(
            code=ReasonCode.ASSESSED_CAPPED,
            given=float(m[1]),
            role=ROLE_BY_LABEL.get(m[2], m[2]),
            max=float(m[3]),
        ),
    ),
    (
        re.compile(r"^assessed by the (.+)$"),
        lambda m: ReasonPart(code=ReasonCode.ASSESSED, role=ROLE_BY_LABEL.get(m[1], m[1])),
    ),
]
"""Evaluation's English wordings from before codes, each read back into the part it said."""


def legacy_part(text: str) -> ReasonPart | None:
    """The coded part an English reason part of before codes says (`lasted 60 min of 90 required (30 min short)` →
    duration_short with its values); None for a wording no pattern knows."""
    for pattern, parse in LEGACY_PATTERNS:
        match = pattern.match(text)
        if match:
            return parse(match)
    return None


def explain_legacy_reason(reason: str, held_recorded_at: datetime | str | None = None) -> str:
    """An English reason of a line stored before evaluation coded its reasons, in Vietnamese: each part read back into
    its code and said by BY_CODE; a part no pattern knows gets a plain Vietnamese note instead of English."""
    said = []
    for text in (piece.strip() for piece in reason.split("; ")):
        part = legacy_part(text)
        said.append(explain_part(part, held_recorded_at) if part is not None else _(SEE_FACTS))
    return _sentence(said)


def framework_note(score: Mapping[str, Any] | None, framework: Mapping[str, Any] | None) -> str | None:
    """Which criteria framework scored the meeting, in Vietnamese: `Chấm theo bộ tiêu chí “…”, phiên bản 1, áp dụng từ
    tháng 10/2025.`, its name and effective month from the framework document (`effective_from`, `YYYY-MM-DD`), the
    name the score gives (else its id) when the document cannot be read (then no month); None without a score."""
    if score is None:
        return None
    reference = score.get("framework") or {}
    name = str((framework or {}).get("name") or reference.get("name") or reference.get("id") or "")
    version = str(reference.get("version") or (framework or {}).get("version") or "")
    effective = str((framework or {}).get("effective_from") or "")
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}(-[0-9]{2})?", effective):
        month = format_period(effective[:7], within=True)
        return _(
            "Scored under the criteria framework “%(name)s”, version %(version)s, in force from %(month)s.",
            name=name,
            version=version,
            month=month,
        )
    return _("Scored under the criteria framework “%(name)s”, version %(version)s.", name=name, version=version)


def rescored_note(score: Mapping[str, Any] | None) -> str | None:
    """When the meeting was re-scored, in Vietnamese (`Đã được chấm lại ngày 04/12/2026.`, the local day of the
    score's `rescored_at`); None when it never was (or without a score)."""
    moment = parse_moment((score or {}).get("rescored_at"))
    if moment is None:
        return None
    return _("Re-scored on %(day)s.", day=format_short_date(moment))
