"""A committee's alert settings page (/app/committees/{c}/alerts): every rule of DOMAIN.md's alerts list in
Vietnamese, what it does and to whom it goes, its current value and where it comes from, and a form per rule; the
API's GET/PUT /v1/committees/{c}/alert-rules underneath (same scoping, same audit)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.availability import notices_or
from services.gateway.http import alert_rules, preferences
from services.gateway.http.deps import State
from services.gateway.web import data, forms
from services.gateway.web.core import (
    PREFIX,
    CurrentViewer,
    FormViewer,
    PageNotFound,
    Viewer,
    WebRoute,
    committee_page_unit,
    render,
)
from services.gateway.web.form_locks import SavedElsewhere, one_form_at_a_time
from services.gateway.web.forms import (
    UNSTORABLE,
    FormErrors,
    FormLabels,
    form_of,
    invalid,
    posted_form,
    refuse_unstorable,
    required,
)
from services.gateway.web.forms import text as form_text
from services.gateway.web.i18n import LABELS, N_, _, format_number
from services.gateway.web.pages.secretary import TAKE_STORED, TOOK_STORED
from shared.rpc import RpcError
from shared.text import is_ascii_number

router = APIRouter(prefix=PREFIX, route_class=WebRoute, include_in_schema=False)

RULES: dict[str, tuple[str, str]] = {
    "meeting_scheduled": (
        N_("Meeting scheduled"),
        N_(
            "When a cell schedules a meeting: every member expected and the upper-level monitor are told its time, "
            "place and content."
        ),
    ),
    "meeting_rescheduled": (
        N_("Meeting moved"),
        N_("When a meeting's time or place changes: every member expected and the upper-level monitor."),
    ),
    "meeting_cancelled": (
        N_("Meeting cancelled"),
        N_("When a meeting is cancelled, with its reason: every member expected and the upper-level monitor."),
    ),
    "documents_missing": (
        N_("Documents not published"),
        N_("The meeting's documents are not published this many hours before it starts: the cell's secretary."),
    ),
    "meeting_reminder": (
        N_("Meeting reminder"),
        N_("A reminder this many hours before the meeting starts: every member expected and the upper-level monitor."),
    ),
    "minutes_late": (
        N_("Minutes late"),
        N_("The minutes or final documents are not in this many days after the meeting: the cell's secretary."),
    ),
    "minutes_late_superior": (
        N_("Minutes still late"),
        N_("The minutes are still not in this many more days after that: the superior committee."),
    ),
    "no_regular_meeting": (
        N_("No regular meeting yet this month"),
        N_("A cell has not held its regular meeting by this day of the month: the cell's secretary."),
    ),
    "month_without_meeting": (
        N_("Month closed without a meeting"),
        N_("A month ended without the cell's regular meeting: the superior committee."),
    ),
    "quarter_without_thematic": (
        N_("Quarter without a thematic meeting"),
        N_(
            "From this day of the quarter's last month, a cell without a thematic meeting that quarter: the cell's "
            "secretary and the superior committee."
        ),
    ),
    "unexcused_absence": (
        N_("Absence without a reason"),
        N_("A member absent from a meeting without a valid reason: the cell's committee."),
    ),
    "consecutive_absences": (
        N_("Absent several meetings in a row"),
        N_("A member absent more than this many meetings in a row: the cell's committee and the superior committee."),
    ),
    "unexcused_months": (
        N_("Absent without a reason for months"),
        N_(
            "A member absent without a valid reason in at least this many months of a year (grounds for removal "
            "from the party): the cell's committee and the superior committee."
        ),
    ),
    "meeting_rated_low": (
        N_("Meeting rated low"),
        N_(
            "A meeting rated at one of these levels once its score has settled (the alert waits this many minutes "
            "after the meeting's latest score, and is not sent if a newer score by then is no longer at these "
            "levels): the superior committee."
        ),
    ),
    "period_rated_low": (
        N_("Period rated low"),
        N_(
            "A cell's month, quarter or year rated at one of these levels, this many days after the period ends, once "
            "its rating has settled (a rating that arrives later waits the minutes set below after the latest one, "
            "and is not sent if a newer rating by then is no longer at these levels): the superior committee."
        ),
    ),
    "probation_ending": (
        N_("Probation ending"),
        N_(
            "A probationary member's probation ends within this many days (the cell must vote on official "
            "membership): the cell's secretary."
        ),
    ),
    "cell_without_committee": (
        N_("Cell without a committee"),
        N_("A cell with at least this many official members and no cell committee: the superior committee."),
    ),
    "monitor_behind_quota": (
        N_("Monitor behind quota"),
        N_(
            "An upper-level monitor who attended fewer meetings of the cells they follow than the quota: the "
            "superior committee."
        ),
    ),
}
"""Each rule's Vietnamese name and what it does and to whom it goes (DOMAIN.md "Alerts committees and members
expect"); a rule notifications adds later is shown by its code until it is named here."""

PARAMS: dict[str, str] = {
    "hours_before": N_("Hours before the start"),
    "days_after": N_("Days after the meeting"),
    "more_days": N_("More days"),
    "day_of_month": N_("Day of the month"),
    "day_of_last_month": N_("Day of the quarter's last month"),
    "more_than": N_("More than (meetings)"),
    "at_least": N_("At least (months)"),
    "ratings": N_("Ratings"),
    "include_provisional": N_("Also provisional scores"),
    "settle_minutes": N_("Wait for the score to settle (minutes)"),
    "grace_days": N_("Days after the period ends"),
    "days_before": N_("Days before it ends"),
    "official_members_at_least": N_("Official members, at least"),
}
"""Each parameter's Vietnamese label in the form and in its errors."""

ORIGINS = {
    "default": N_("default"),
    "this_committee": N_("set by this committee"),
    "above": N_("set by a committee above"),
}


UNNAMED_PARAM = N_("A setting of this alert")
"""The label of a parameter notifications adds before it is named in PARAMS: never its code."""


def param_label(name: str) -> str:
    """A parameter's Vietnamese label (UNNAMED_PARAM when it has none)."""
    return _(PARAMS.get(name, UNNAMED_PARAM))


def rule_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's rules with their Vietnamese name and explanation, for the template."""
    rows = []
    for item in answer["rules"]:
        name, explanation = RULES.get(item["rule"], (item["rule"], ""))
        rows.append({**item, "name": _(name), "explanation": _(explanation) if explanation else ""})
    return rows


def rendered_of(form: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """The values the posted form was rendered with (its hidden `was.NAME` fields: `was.enabled` on/off, each
    parameter as shown), each one the form does not carry taken as the rule's current value."""
    flag = form.get("was.enabled")
    params: dict[str, Any] = {}
    for name, current in rule["params"].items():
        key = f"was.{name}"
        if isinstance(current, bool):
            raw = form.get(key)
            params[name] = raw == "on" if raw in ("on", "off") else current
        elif isinstance(current, int):
            raw = str(form.get(key) or "")
            params[name] = int(raw) if is_ascii_number(raw) else current
        else:
            shown = [str(item) for item in form.getlist(key)]
            params[name] = list(dict.fromkeys(shown)) if shown else current
    return {"enabled": flag == "on" if flag in ("on", "off") else rule["enabled"], "params": params}


def same(left: Any, right: Any) -> bool:
    """Whether two values of a parameter are the same (a list of ratings in any order)."""
    if isinstance(left, list) and isinstance(right, list):
        return set(left) == set(right)
    return bool(left == right and type(left) is type(right))


def changes_of(form: Any, rule: dict[str, Any]) -> tuple[bool | None, dict[str, Any], dict[str, str]]:
    """What the posted form of one rule changes: only what the person changed from the values the form was rendered
    with (`rendered_of`) and that differs from the current one, so a parameter-only save never touches on or off and a
    form left open while another tab saved sends back none of its stale values; `enabled` is None when unchanged.
    Vietnamese errors keyed `params.NAME` for values that are not whole numbers written in the digits 0-9 (Arabic-Indic
    and full-width digits refused as on every form) or lists left empty."""
    errors: dict[str, str] = {}
    rendered = rendered_of(form, rule)
    enabled = form.get("enabled") == "on"
    if not is_checkbox_value(form.get("enabled")):
        errors["enabled"] = invalid("enabled", name=_(SEND_THIS))
    params: dict[str, Any] = {}
    for name, current in rule["params"].items():
        field = f"params.{name}"
        if isinstance(current, bool):
            if not is_checkbox_value(form.get(name)):
                errors[field] = invalid(field, name=param_label(name))
                continue
            value: Any = form.get(name) == "on"
        elif isinstance(current, int):
            raw = form_text(form, name)  # trimmed of spaces and invisible characters (shared.text.said_or_blank)
            if not raw:  # left empty, or only spaces or invisible ones: said empty, as every form says it
                errors[field] = required(field, name=param_label(name))
                continue
            if not is_ascii_number(raw.removeprefix("-")):
                errors[field] = _("%(field)s: enter a whole number.", field=param_label(name))
                continue
            value = int(raw)
        else:
            value = list(dict.fromkeys(str(item) for item in form.getlist(name)))  # a checkbox list holds each once
            if not value:
                errors[field] = _("%(field)s: choose at least one.", field=param_label(name))
                continue
        if not same(value, rendered["params"][name]) and not same(value, current):
            params[name] = value
    changed = enabled != rendered["enabled"] and enabled != rule["enabled"]
    return (enabled if changed else None), params, errors


SETTING_CHANGED = N_(
    "This alert's settings were changed after you opened this page: %(changes)s. Nothing has been saved yet: the form"
    " keeps what you typed; to keep a value now stored instead, choose “Use the stored content” beside it, then save"
    " again."
)
"""Why a save from a stale tab is refused: what it changes was changed meanwhile, said with its current value; the
form shown again keeps what was typed."""
NOW_IS = N_("%(field)s is now %(value)s")
"""One value changed meanwhile, in SETTING_CHANGED: its label and current value."""


def said_value(value: Any) -> str:
    """A rule's value as the page says it: Có/Không, a number in Vietnamese digits' format, ratings by name."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, int):
        return format_number(value, digits=0)
    return ", ".join(_(RATINGS.get(str(item), str(item))) for item in value)


def stale_of(form: Any, rule: dict[str, Any], enabled: bool | None, params: dict[str, Any]) -> dict[str, str]:
    """{"form": SETTING_CHANGED} when a change the form sends (changes_of's `enabled`, `params`) is to a value that
    was changed since the form was rendered (its `was.NAME` differs from the rule's current value), naming each such
    value as it is now; {} otherwise (another tab's save of other values is kept, never refused)."""
    rendered = rendered_of(form, rule)
    changed = [
        name
        for name in (["enabled"] if enabled is not None else []) + list(params)
        if not same(
            rendered["enabled"] if name == "enabled" else rendered["params"][name],
            rule["enabled"] if name == "enabled" else rule["params"][name],
        )
    ]
    return setting_changed(rule, changed)


def setting_changed(rule: dict[str, Any], names: list[str]) -> dict[str, str]:
    """{"form": SETTING_CHANGED} naming each of `names` (`enabled` or a parameter) with the rule's current value;
    {} for none."""
    said = [
        _(NOW_IS, field=_(SEND_THIS), value=_("On") if rule["enabled"] else _("Off"))
        if name == "enabled"
        else _(NOW_IS, field=param_label(name), value=said_value(rule["params"][name]))
        for name in names
    ]
    return {"form": _(SETTING_CHANGED, changes="; ".join(said))} if said else {}


def kept_labels(rule: dict[str, Any], names: list[str]) -> dict[str, str]:
    """Each of `names` (`enabled` or a parameter of the rule) to its label: the values a refused stale form keeps as
    typed though stored otherwise, each offered "Dùng nội dung đang lưu" (TAKE_STORED)."""
    return {
        name: _(SEND_THIS) if name == "enabled" else param_label(name)
        for name in names
        if name == "enabled" or name in rule["params"]
    }


def stored_taken(form: Any, rule: dict[str, Any], key: str) -> dict[str, Any]:
    """The rule's form shown again after its TAKE_STORED button for `key`: _page's `typed` (typed_of, the rule's
    current value for `key`), `errors` (SETTING_CHANGED for the form's other `kept` values still stored otherwise
    than typed), `kept` (kept_labels of those) and `took` (TOOK_STORED); `rendered` None, so the form's `was.*` are
    the current values. Nothing is sent."""
    typed = typed_of(form, rule)
    current = {"enabled": rule["enabled"], **rule["params"]}
    if key in current:
        typed[key] = current[key]

    def differs(name: str) -> bool:
        value = typed[name]
        if isinstance(current[name], bool) and name != "enabled":
            value = value is True or value == "on"
        elif isinstance(current[name], int) and not isinstance(current[name], bool):
            raw = str(value or "").strip()
            value = int(raw) if is_ascii_number(raw) else raw
        return not same(value, current[name])

    names = [str(name) for name in form.getlist("kept") if str(name) in current and str(name) != key]
    still = [name for name in dict.fromkeys(names) if differs(name)]
    label = kept_labels(rule, [key]).get(key, key)
    return {
        "typed": typed,
        "rendered": None,
        "errors": setting_changed(rule, still),
        "kept": kept_labels(rule, still),
        "took": _(TOOK_STORED, field=label),
    }


def is_checkbox_value(value: object) -> bool:
    """Whether a checkbox's posted value is one a browser sends: `on` (ticked) or none (unticked); anything else
    (`%00`, `off`, `""`) is refused, never read as unticked (a trial's `enabled=%00` switched a rule off)."""
    return value is None or value == "on"


SEND_THIS = N_("Send this alert")
"""The label of a rule's on/off tick."""
RESET_FORM = FormLabels(hidden=frozenset({"csrf", "what"}), sets_values=True)
"""The reset button's form: nothing but what the page fills in."""


def alert_form(rule: dict[str, Any]) -> FormLabels:
    """The inputs of one rule's form as alerts.html labels them: its ticks and lists of ticks chosen, its numbers
    typed, the values it was shown with (`was.NAME`) filled in by the page."""
    lists = {
        name: (rule.get("limits") or {}).get(name, {}).get("choices") or value
        for name, value in rule["params"].items()
        if isinstance(value, list)
    }
    return rule_form(rule["params"], checkboxes(rule), lists)


RATINGS = {"average": N_("Average"), "poor": N_("Poor")}
"""The ratings a list parameter of a rule offers to tick, as alerts.html says them."""


def rule_form(params: Any, ticks: set[str], lists: dict[str, list[str]]) -> FormLabels:
    """The inputs of a rule's form with parameters `params` (names), of which `ticks` are on/off ticks (with
    `enabled`) and `lists` lists of ratings to tick (name → the ratings offered), the others numbers typed."""
    labels = {"enabled": SEND_THIS} | {name: PARAMS.get(name, UNNAMED_PARAM) for name in params}
    chosen = ticks | {"enabled"} | set(lists)
    return FormLabels(
        fields={name: said for name, said in labels.items() if name not in chosen},
        choices={name: said for name, said in labels.items() if name in chosen},
        hidden=frozenset({"csrf", "was"}),
        options={name: {code: RATINGS.get(code, code) for code in codes} for name, codes in lists.items()},
        many=frozenset(lists),
        sets_values=True,
        order=("csrf", "was", *labels),
    )


def posted_rule_form(form: Any) -> FormLabels:
    """The inputs of a rule's form as its posted values it was shown with (`was.NAME`) give their shapes, for the
    form read before the rule is (while notifications, which keeps the rules, may not answer): `on`/`off` a tick, a
    whole number typed, anything else a list of ratings."""
    shown: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str) and name.startswith("was.") and name != "was.enabled":
            shown.setdefault(name.removeprefix("was."), []).append(value)
    ticks = {name for name, values in shown.items() if values in (["on"], ["off"])}
    numbers = {name for name, values in shown.items() if len(values) == 1 and is_ascii_number(values[0])}
    lists = {name: list(RATINGS) for name in shown if name not in ticks | numbers}
    return rule_form(shown, ticks, lists)


def checkboxes(rule: dict[str, Any]) -> set[str]:
    """The checkbox inputs of a rule's form: `enabled` and each on/off parameter."""
    return {"enabled"} | {name for name, value in rule["params"].items() if isinstance(value, bool)}


LOCAL_REFUSALS = {False: "not a whole number", True: "none chosen"}
"""Why the page refuses a parameter before asking the API, as its audit row says (a number, a list)."""
CHECKBOX_REFUSAL = "not on or unticked"
"""Why the page refuses a checkbox's value (anything but `on` or none), as its audit row says."""


def local_refusal(field: str, rule: dict[str, Any]) -> str:
    """Why the page refused `field` (`enabled`, `params.NAME`) of `rule` before asking the API, for its audit row."""
    if field.removeprefix("params.") in checkboxes(rule):
        return CHECKBOX_REFUSAL
    return LOCAL_REFUSALS[field in list_fields(rule)]


def list_fields(rule: dict[str, Any]) -> set[str]:
    """The `params.NAME` fields of a rule's list parameters."""
    return {f"params.{name}" for name, value in rule["params"].items() if isinstance(value, list)}


def refusal_message(exc: RpcError, rule: dict[str, Any]) -> dict[str, str]:
    """The API's 422 on one rule in Vietnamese, naming the parameter and what it may be (from the limits the API
    gives, so the page repeats none of notifications' bounds)."""
    field = exc.field or "form"
    name = field.removeprefix("params.")
    limits = (rule.get("limits") or {}).get(name) or {}
    if "min" in limits:
        return {
            field: _(
                "%(field)s: between %(low)s and %(high)s.",
                field=param_label(name),
                low=format_number(limits["min"], digits=0),
                high=format_number(limits["max"], digits=0),
            )
        }
    return {field: _("%(field)s: not accepted by the system.", field=param_label(name))}


async def _page(
    request: Request,
    viewer: Any,
    state: Any,
    committee_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    failed: str | None = None,
    typed: dict[str, Any] | None = None,
    rendered: dict[str, Any] | None = None,
    kept: dict[str, str] | None = None,
    took: str = "",
) -> HTMLResponse:
    principal = viewer.principal
    unit = await committee_page_unit(principal, committee_id, directory=state.directory)
    # the rules come from notifications: while it does not answer the page says so instead of failing as a whole
    answer = await notices_or(lambda: alert_rules.get_alert_rules(committee_id, principal, state), None)
    own = principal.unit_id == committee_id  # a committee's delivery is its own officers' (committees above: 403)
    delivery = (
        await notices_or(lambda: preferences.get_committee_preferences(committee_id, principal, state), None)
        if own
        else None
    )
    return render(
        request,
        "alerts.html",
        status=status,
        viewer=viewer,
        unit=unit,
        crumbs=await data.breadcrumb(state, principal, unit),
        rules=rule_rows(answer) if answer is not None else [],
        rules_unavailable=answer is None,
        notices_unavailable=False,  # the page's own banner says it, for the settings
        origins={key: _(value) for key, value in ORIGINS.items()},
        labels={name: param_label(name) for name in PARAMS},
        ratings={"average": _("Average"), "poor": _("Poor")},
        errors=errors or {},
        failed=failed,
        typed=typed or {},
        rendered=rendered,
        kept=kept or {},
        took=took,
        take_stored=TAKE_STORED,
        notice=request.query_params.get("notice"),
        saved=request.query_params.get("rule"),
        own=own,
        delivery=delivery,
        delivery_options={key: _(value) for key, value in DELIVERY.items()},
        channels={code: _(said) for code, said in LABELS["channel"].items()},
    )


DELIVERY = {
    "single": N_("Each notice as it comes"),
    "digest": N_("Gathered into one digest a day"),
}
"""How a committee's notices come, as the alert settings page offers it (the API's `digest` false or true)."""
DELIVERY_FORM = FormLabels(
    choices={"delivery": N_("How notices are sent"), "channels": forms.FIELD_LABELS["channels"]},
    options={
        "delivery": DELIVERY,
        "channels": {code: said for code, said in LABELS["channel"].items() if code != "inbox"},
    },
    many=frozenset({"channels"}),
    sets_values=True,
    order=("csrf", "delivery", "channels"),
)
"""The committee delivery form's inputs as alerts.html labels them."""


@router.post("/committees/{committee_id}/delivery")
@forms.posts(DELIVERY_FORM)
async def save_committee_delivery(committee_id: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Choose how the committee's own notices come (the API's PUT /v1/committees/{c}/preferences): each as it comes
    or one digest a day, and the channels on offer; back to the alert settings page, or the page again with the
    Vietnamese errors."""
    form = await form_of(request, DELIVERY_FORM)
    chosen = form.getlist("channels")
    try:
        delivery = form.get("delivery")
        if delivery not in DELIVERY:
            raise FormErrors({"delivery": forms.not_a_choice("delivery", delivery)})
        body = forms.build(preferences.PreferencesUpdate, {"channels": chosen, "digest": delivery == "digest"})
        await forms.send(preferences.set_committee_preferences(committee_id, body, viewer.principal, state, request))
    except FormErrors as exc:
        return await _page(request, viewer, state, committee_id, status=422, errors=exc.errors, failed="delivery")
    return RedirectResponse(f"{PREFIX}/committees/{committee_id}/alerts?notice=delivery#delivery", status_code=303)


@router.get("/committees/{committee_id}/alerts")
async def alerts_page(committee_id: str, request: Request, viewer: CurrentViewer, state: State) -> HTMLResponse:
    """Every alert rule for the committee's subtree, with its value, where it comes from and a form to change it."""
    return await _page(request, viewer, state, committee_id)


ALERT_FORM_LOCK_PREFIX = "gateway.alert-settings:"
"""The key of a committee's alert-settings lock (web.form_locks.one_form_at_a_time), followed by the committee id:
the settings a rule's form changes are the committee's own. The whole committee's, not one rule's, although a rule's
stale-page check (stale_of) compares only that rule's values: the command it lets through is notifications' set_rule,
which re-plans every pending job of the subtree with all the rules' settings as its transaction reads them, so two
saves of different rules at once could each re-plan with the other's older value and leave one of them unapplied."""
ALERT_SETTINGS_BEING_SAVED = N_(
    "Someone else is saving the alert settings on this page right now. Please reload the page and try again."
)
"""Why a rule's form that waited longer than CHIBO_FORM_LOCK_WAIT_SECONDS for the committee's alert-settings lock is
refused (nothing saved, the form shown again as sent)."""


@router.post("/committees/{committee_id}/alerts/{rule}")
async def save_alert_rule(committee_id: str, rule: str, request: Request, viewer: FormViewer, state: State) -> Response:
    """Switch one rule on or off and change its parameters (the API's PUT /v1/committees/{c}/alert-rules/{rule});
    back to the page, or the page again with the Vietnamese errors and what was typed. Judged and sent under the
    committee's alert-settings lock, so two saves at the same instant are judged one after the other (the later one
    against what the earlier one saved, by its stale-page check)."""
    # the form is read first: while notifications does not answer it comes back as sent (core.WebRoute)
    posted = await form_of(request, posted_rule_form(await posted_form(request)))
    taking = str(posted.get(TAKE_STORED) or "")
    if taking:
        current = await rule_of(committee_id, rule, viewer, state)
        shown = stored_taken(await form_of(request, alert_form(current)), current, taking)
        return await _page(request, viewer, state, committee_id, failed=rule, **shown)  # nothing refused nor saved
    busy = {"form": _(ALERT_SETTINGS_BEING_SAVED)}
    try:
        async with one_form_at_a_time(state, ALERT_FORM_LOCK_PREFIX + committee_id, busy):
            refused = await _judge_and_send(request, viewer, state, committee_id, rule)
    except SavedElsewhere as exc:
        current = await rule_of(committee_id, rule, viewer, state)
        form = await form_of(request, alert_form(current))
        refused = {"errors": exc.errors, "typed": typed_of(form, current), "rendered": rendered_of(form, current)}
    if refused is not None:
        return await _page(request, viewer, state, committee_id, status=422, failed=rule, **refused)
    return RedirectResponse(
        f"{PREFIX}/committees/{committee_id}/alerts?notice=saved&rule={rule}#rule-{rule}", status_code=303
    )


async def rule_of(committee_id: str, rule: str, viewer: Viewer, state: State) -> dict[str, Any]:
    """The committee's rule `rule` as notifications answers it now (an item of get_alert_rules' `rules`); the app's
    404 (PageNotFound) for a rule it does not have."""
    answer = await alert_rules.get_alert_rules(committee_id, viewer.principal, state)
    current = next((item for item in answer["rules"] if item["rule"] == rule), None)
    if current is None:
        raise PageNotFound
    return dict(current)


def typed_of(form: Any, rule: dict[str, Any]) -> dict[str, Any]:
    """What a rule's posted form holds, as the page shows it again: each parameter (a list for a list of ticks) and
    `enabled` (ticked or not)."""
    return {
        name: (form.getlist(name) if isinstance(value, list) else form.get(name))
        for name, value in rule["params"].items()
    } | {"enabled": form.get("enabled") == "on"}


async def _judge_and_send(
    request: Request, viewer: Viewer, state: State, committee_id: str, rule: str
) -> dict[str, Any] | None:
    """Read the rule, judge the posted form against it (changes_of, stale_of) and send what it changes; None when
    saved, else what the page shows again (_page's `errors`, `typed`, `rendered`)."""
    principal = viewer.principal
    current = await rule_of(committee_id, rule, viewer, state)
    form = await form_of(request, alert_form(current))
    typed = typed_of(form, current)
    enabled, params, errors = changes_of(form, current)
    # an input holding a character no text is stored with is said so, by its label, as on every form (UNSTORABLE),
    # never also as not on or unticked, nor as no whole number (a trial's `enabled=%00`: "giá trị không hợp lệ")
    errors = {field: said for field, said in errors.items() if field.removeprefix("params.") not in UNSTORABLE.get()}
    stale = {} if errors else stale_of(form, current, enabled, params)
    if stale:
        # refused, nothing saved: the form is drawn again with what this page changed (changes_of: nothing typed is
        # lost, a trial's stale record forms lost it), the rest as now stored, which it now carries in `was.*`
        shown = {name: value for name, value in current["params"].items()} | {"enabled": current["enabled"]}
        shown |= params | ({"enabled": enabled} if enabled is not None else {})
        rendered = rendered_of(form, current)
        names = (["enabled"] if enabled is not None else []) + list(params)
        kept = [
            name
            for name in names
            if not same(
                rendered["enabled"] if name == "enabled" else rendered["params"][name],
                current["enabled"] if name == "enabled" else current["params"][name],
            )
        ]
        return {"errors": stale, "typed": shown, "rendered": None, "kept": kept_labels(current, kept)}
    try:
        if errors:
            request.state.audit_detail = {
                "committee_id": committee_id,
                "rule": rule,
                "attempted": {name: value for name, value in typed.items() if name != "enabled"},
                "refused": {field: local_refusal(field, current) for field in errors},
            }
            raise FormErrors(errors)
        refuse_unstorable()  # any other input holding what no text is stored with: nothing saved
        if enabled is not None or params:
            # only what changed: `enabled` left out keeps on or off where it comes from (null would give it back to
            # the level above, which only the reset button does)
            body = alert_rules.AlertRuleUpdate.model_validate(
                ({"enabled": enabled} if enabled is not None else {}) | ({"params": params} if params else {})
            )
            try:
                await alert_rules.set_alert_rule(committee_id, rule, body, principal, state, request)
            except RpcError as exc:
                if exc.code != "invalid":
                    raise
                raise FormErrors(refusal_message(exc, current)) from None
    except FormErrors as exc:
        return {"errors": exc.errors, "typed": typed, "rendered": rendered_of(form, current)}
    return None


@router.post("/committees/{committee_id}/alerts/{rule}/reset")
@forms.posts(RESET_FORM)
async def reset_alert_rule(
    committee_id: str, rule: str, request: Request, viewer: FormViewer, state: State
) -> Response:
    """Give one value this committee set (`what`: `enabled`, or a parameter's name) back to the level above, as the
    API's PUT with that value null does; an unknown rule or value is the app's 404."""
    principal = viewer.principal
    what = str((await form_of(request, RESET_FORM)).get("what") or "")
    answer = await alert_rules.get_alert_rules(committee_id, principal, state)
    current = next((item for item in answer["rules"] if item["rule"] == rule), None)
    if current is None or (what != "enabled" and what not in current["params"]):
        raise PageNotFound
    body = alert_rules.AlertRuleUpdate.model_validate(
        {"enabled": None} if what == "enabled" else {"params": {what: None}}
    )
    await alert_rules.set_alert_rule(committee_id, rule, body, principal, state, request)
    return RedirectResponse(
        f"{PREFIX}/committees/{committee_id}/alerts?notice=saved&rule={rule}#rule-{rule}", status_code=303
    )
