"""A meeting's score explained in Vietnamese: evaluation's reasons (English, for logs and the API) are
read part by part and said again from the message catalog, figures formatted the Vietnamese way."""

import re
from collections.abc import Callable
from typing import Any

from services.gateway.web.i18n import N_, _, format_moment, format_number, parse_moment

Say = Callable[[re.Match[str]], str]


def _num(value: str) -> str:
    return format_number(float(value))


def _pct(value: str) -> str:
    return format_number(float(value.rstrip("%"))) + "%"


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
    "cell committee": N_("the cell committee"),
    "members' vote": N_("the members' vote"),
    "upper-level monitor": N_("the upper-level monitor"),
}


def _kinds(value: str) -> str:
    """`content/draft_resolution` or `minutes, resolution` as Vietnamese words joined by "or"/"and"."""
    separator = "/" if "/" in value else ", "
    words = [_(KIND_WORDS.get(part.strip(), part.strip())) for part in value.split(separator)]
    return (_(" or ") if separator == "/" else _(", ")).join(words)


def _lead(value: str) -> str:
    hours = re.match(r"^([\d.]+) h before the start$", value)
    if hours:
        return _("%(hours)s hours before the start", hours=_num(hours.group(1)))
    return _("before the start")


def _when(value: str) -> str:
    return format_moment(parse_moment(value))


PATTERNS: list[tuple[re.Pattern[str], Say]] = [
    (re.compile(r"^no minutes recorded yet$"), lambda m: _("no minutes recorded yet")),
    (re.compile(r"^no attendance recorded yet$"), lambda m: _("no attendance recorded yet")),
    (re.compile(r"^nobody expected on the roster$"), lambda m: _("nobody on the roster counts")),
    (
        re.compile(r"^lasted ([\d.]+) min of (\d+) required \(([\d.]+) min short\)$"),
        lambda m: _(
            "lasted %(lasted)s minutes of the %(required)s required (%(short)s minutes short)",
            lasted=_num(m[1]),
            required=m[2],
            short=_num(m[3]),
        ),
    ),
    (
        re.compile(r"^lasted ([\d.]+) min of (\d+) required: at least half$"),
        lambda m: _(
            "lasted %(lasted)s minutes of the %(required)s required: at least half", lasted=_num(m[1]), required=m[2]
        ),
    ),
    (
        re.compile(r"^lasted ([\d.]+) min of (\d+) required: below half$"),
        lambda m: _(
            "lasted %(lasted)s minutes of the %(required)s required: below half", lasted=_num(m[1]), required=m[2]
        ),
    ),
    (
        re.compile(r"^(\d+)/(\d+) present \(([\d.]+%)\)$"),
        lambda m: _("%(present)s of %(counted)s present (%(rate)s)", present=m[1], counted=m[2], rate=_pct(m[3])),
    ),
    (re.compile(r"^(\d+) absent without excuse$"), lambda m: _("%(count)s absent without excuse", count=m[1])),
    (
        re.compile(r"^bonus: no excused-absence run above (\d+) \(longest (\d+)\)$"),
        lambda m: _(
            "bonus point: nobody excused more than %(limit)s meetings in a row (longest %(longest)s)",
            limit=m[1],
            longest=m[2],
        ),
    ),
    (
        re.compile(r"^no bonus: an excused-absence run of (\d+) meetings$"),
        lambda m: _("no bonus point: a member excused %(run)s meetings in a row", run=m[1]),
    ),
    (
        re.compile(r"^rate ([\d.]+%) not (above|at least) ([\d.]+%)$"),
        lambda m: _("attendance %(rate)s, below the required %(required)s", rate=_pct(m[1]), required=_pct(m[3])),
    ),
    (
        re.compile(r"^a member absent (\d+) meetings in a row$"),
        lambda m: _("a member absent %(run)s meetings in a row", run=m[1]),
    ),
    (
        re.compile(r"^rate ([\d.]+%), no unexcused absence, longest absence run (\d+)$"),
        lambda m: _(
            "attendance %(rate)s, no unexcused absence, longest absence run %(run)s", rate=_pct(m[1]), run=m[2]
        ),
    ),
    (re.compile(r"^no (\S+) published$"), lambda m: _("%(kinds)s not published", kinds=_kinds(m[1]))),
    (
        re.compile(r"^first (\S+) published (\S+), not (.+) \((\S+)\)$"),
        lambda m: _(
            "%(kinds)s first published at %(when)s, not %(lead)s",
            kinds=_kinds(m[1]),
            when=_when(m[2]),
            lead=_lead(m[3]),
        ),
    ),
    (
        re.compile(r"^(\S+) published (\S+), (.+before the start)$"),
        lambda m: _(
            "%(kinds)s published at %(when)s, %(lead)s", kinds=_kinds(m[1]), when=_when(m[2]), lead=_lead(m[3])
        ),
    ),
    (re.compile(r"^the cell has no committee$"), lambda m: _("the cell has no cell committee")),
    (re.compile(r"^the cell committee met beforehand$"), lambda m: _("the cell committee met beforehand")),
    (
        re.compile(r"^no record that the cell committee met beforehand$"),
        lambda m: _("no record that the cell committee met beforehand"),
    ),
    (re.compile(r"^members notified (\S+)$"), lambda m: _("members notified at %(when)s", when=_when(m[1]))),
    (re.compile(r"^members not notified before the start$"), lambda m: _("members not notified before the start")),
    (
        re.compile(r"^(\d+) of (\d+) present members spoke \(([\d.]+%)\)$"),
        lambda m: _(
            "%(speakers)s of %(present)s present members spoke (%(rate)s)",
            speakers=m[1],
            present=m[2],
            rate=_pct(m[3]),
        ),
    ),
    (re.compile(r"^minutes lack (.+)$"), lambda m: _("the minutes lack %(parts)s", parts=_kinds(m[1]))),
    (
        re.compile(r"^roster, content, conclusions, speakers and resolutions recorded$"),
        lambda m: _("roster, content, conclusions, speakers and resolutions recorded"),
    ),
    (re.compile(r"^self-criticism time not recorded$"), lambda m: _("time of self-criticism not recorded")),
    (
        re.compile(r"^(\d+) min of self-criticism \((\d+)–(\d+)\)$"),
        lambda m: _("%(spent)s minutes of self-criticism (%(low)s–%(high)s)", spent=m[1], low=m[2], high=m[3]),
    ),
    (
        re.compile(r"^(\d+) min of self-criticism, outside (\d+)–(\d+)$"),
        lambda m: _("%(spent)s minutes of self-criticism, outside %(low)s–%(high)s", spent=m[1], low=m[2], high=m[3]),
    ),
    (
        re.compile(r"^(\d+) of (\d+) tasks of the previous meeting done on time \(([\d.]+%)\)$"),
        lambda m: _(
            "%(done)s of %(total)s tasks of the previous meeting done on time (%(rate)s)",
            done=m[1],
            total=m[2],
            rate=_pct(m[3]),
        ),
    ),
    (re.compile(r"^no resolution in the minutes$"), lambda m: _("no resolution in the minutes")),
    (
        re.compile(r"^resolution (\d+): (\d+) for of (\d+) votes cast, not above half$"),
        lambda m: _(
            "resolution %(number)s: %(votes)s in favour of %(cast)s votes cast, not above half",
            number=m[1],
            votes=m[2],
            cast=m[3],
        ),
    ),
    (
        re.compile(r"^(\d+) resolution\(s\), each adopted by more than half of the votes cast$"),
        lambda m: _("%(count)s resolution(s), each adopted by more than half of the votes cast", count=m[1]),
    ),
    (
        re.compile(r"^minutes approved and (\d+) task\(s\) assigned$"),
        lambda m: _("minutes adopted and %(count)s task(s) assigned", count=m[1]),
    ),
    (re.compile(r"^minutes not approved$"), lambda m: _("minutes not adopted")),
    (re.compile(r"^no task assigned$"), lambda m: _("no task assigned")),
    (
        re.compile(r"^(.+) not published within ([\d.]+) h of the end$"),
        lambda m: _("%(kinds)s not published within %(hours)s hours of the end", kinds=_kinds(m[1]), hours=_num(m[2])),
    ),
    (
        re.compile(r"^(.+) published within ([\d.]+) h of the end$"),
        lambda m: _("%(kinds)s published within %(hours)s hours of the end", kinds=_kinds(m[1]), hours=_num(m[2])),
    ),
    (
        re.compile(r"^not applicable to (?:a|an) (\w+) meeting$"),
        lambda m: _("not applicable to %(kind)s meeting", kind=_(KIND_WORDS.get(m[1], m[1]))),
    ),
    (
        re.compile(r"^no previous held regular or combined meeting$"),
        lambda m: _("no previous held regular or combined meeting"),
    ),
    (re.compile(r"^the previous meeting assigned no tasks$"), lambda m: _("the previous meeting assigned no tasks")),
    (re.compile(r"^awaiting assessment$"), lambda m: _("awaiting assessment")),
    (
        re.compile(r"^assessed ([\d.]+) by the (.+), capped at ([\d.]+)$"),
        lambda m: _(
            "%(given)s points given by %(who)s, capped at %(max)s",
            given=_num(m[1]),
            who=_(KIND_WORDS.get(m[2], m[2])),
            max=_num(m[3]),
        ),
    ),
    (re.compile(r"^assessed by the (.+)$"), lambda m: _("assessed by %(who)s", who=_(KIND_WORDS.get(m[1], m[1])))),
]


def explain_reason(reason: str) -> str:
    """Evaluation's reason in Vietnamese, part by part; a part no pattern knows gets a plain Vietnamese
    note instead of English."""
    parts = []
    for part in (piece.strip() for piece in reason.split("; ")):
        for pattern, say in PATTERNS:
            match = pattern.match(part)
            if match:
                parts.append(say(match))
                break
        else:
            parts.append(_("see the recorded facts of the meeting"))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def item_names(framework: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Item code → (criterion group name, item name) from the framework document (Vietnamese data)."""
    names: dict[str, tuple[str, str]] = {}
    for group in (framework or {}).get("criteria") or (framework or {}).get("groups") or []:
        for item in group.get("items") or []:
            names[str(item.get("code"))] = (str(group.get("name") or ""), str(item.get("name") or item.get("code")))
    return names


def explained_lines(score: dict[str, Any], framework: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The score's criteria with Vietnamese names and explanations, grouped in framework order."""
    names = item_names(framework)
    lines = []
    for line in score.get("criteria") or []:
        group, name = names.get(line["code"], ("", line["code"]))
        lines.append(
            {
                **line,
                "group": group,
                "name": name,
                "explanation": explain_reason(str(line.get("reason") or "")),
                "source_label": _("automatic") if line.get("source") == "auto" else _("assessed by people"),
            }
        )
    return lines
