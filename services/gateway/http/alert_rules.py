"""A committee's alert settings over its subtree (DOMAIN.md "Alerts committees and members expect": lead times and
thresholds are local): read and changed through notifications' get_rules/set_rule, which keeps the rules, their
defaults and their bounds; the gateway only scopes the caller and says where each value comes from."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request

from services.gateway.auth import Principal, Role
from services.gateway.handlers import authorize_unit, not_found
from services.gateway.http.deps import Caller, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS
from services.gateway.http.routing import ApiRoute
from services.gateway.schemas.common import CreateModel, NotNull, ReadModel
from shared import alert_rules as shared_rules
from shared.contracts import notifications_rpc as notifications
from shared.contracts.base import Flag
from shared.rpc import RpcError, ServiceUnavailable

router = APIRouter(prefix="/v1", tags=["committees"], responses=COMMON_ERRORS, route_class=ApiRoute)
OFFICERS = frozenset({Role.COMMITTEE_OFFICER})
CHANGE_ALERT_RULES = RoleCheck(OFFICERS, "change alert settings")
"""Only committee officers change a subtree's alert settings; checked before the body is validated."""
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
RulePath = Annotated[str, Path(pattern=r"^[a-z_]{1,64}$", description="A rule name, e.g. meeting_reminder")]
Origin = Literal["default", "this_committee", "above"]


class ValueSource(ReadModel):
    """Where a value comes from: the default, this committee's setting, or a committee above it (`unit_id`)."""

    origin: Origin
    unit_id: str | None = None


class AlertRuleRead(ReadModel):
    """One rule as it holds for the committee's subtree: on or off, its parameters (lead times in hours, days,
    day of the month, counts, ratings) and where each value comes from."""

    rule: str
    enabled: bool
    enabled_from: ValueSource
    params: dict[str, Any]
    params_from: dict[str, ValueSource]
    limits: dict[str, dict[str, Any]] = {}
    """What each parameter may be, as notifications checks it: {"min", "max"} (whole numbers), {"choices"}."""


class AlertRulesRead(ReadModel):
    """Every alert rule for a committee's subtree, in notifications' order."""

    committee_id: str
    rules: list[AlertRuleRead]


class AlertRuleUpdate(CreateModel):
    """A committee's change to one rule for its whole subtree: `enabled` and/or `params` (only the parameters named
    change; `enabled` or a parameter set to null goes back to the value from above, `enabled` left out keeps it;
    `params` itself null means nothing and is refused, naming it).
    Notifications checks names and ranges: 422 naming `params.NAME` (hours_before 1–168, day_of_month 1–28, ratings
    among average/poor...)."""

    enabled: Flag | None = None
    params: Annotated[
        dict[str, Any] | None,
        NotNull(
            "give params as an object of the parameters to change, a parameter set to null going back to the value "
            "from above, or leave params out"
        ),
    ] = None

    @property
    def reset_enabled(self) -> bool:
        """Whether `enabled` was sent as null: on or off given back to the committees above."""
        return "enabled" in self.model_fields_set and self.enabled is None


async def officers_committee(caller: Principal, state: State, committee_id: str) -> None:
    """The committee when the caller is an officer at or above it: 404 outside their subtree, 403 for other roles."""
    await authorize_unit(caller, committee_id, directory=state.directory, kind="committee", roles=OFFICERS)


@router.get("/committees/{committee_id}/alert-rules", response_model=AlertRulesRead)
async def get_alert_rules(committee_id: IdPath, caller: Caller, state: State) -> Any:
    """Every alert rule as it holds for the committee's subtree, with where each value comes from."""
    await officers_committee(caller, state, committee_id)
    return shared_rules.rules_view(await state.rpc.call(notifications.GetRules(unit_id=committee_id)), committee_id)


@router.put(
    "/committees/{committee_id}/alert-rules/{rule}",
    response_model=AlertRuleRead,
    dependencies=[Depends(CHANGE_ALERT_RULES)],
)
async def set_alert_rule(
    committee_id: IdPath, rule: RulePath, body: AlertRuleUpdate, caller: Caller, state: State, request: Request
) -> Any:
    """Switch one rule on or off and/or change its parameters for the committee's whole subtree; 404 for an unknown
    rule, 422 naming the field (`enabled`, `params.NAME`) for an empty change or a value notifications refuses."""
    CHANGE_ALERT_RULES.check(caller)
    await officers_committee(caller, state, committee_id)
    try:
        change = shared_rules.rule_change(
            committee_id, rule, enabled=body.enabled, reset_enabled=body.reset_enabled, params=body.params
        )
    except RpcError as exc:
        request.state.audit_detail = {"committee_id": committee_id, "rule": rule, "refused": {exc.field: exc.message}}
        raise
    request.state.audit_detail = shared_rules.audit_detail(change)  # a refused change is audited with it too
    try:
        answer = await state.rpc.call(change)
    except ServiceUnavailable as exc:
        request.state.audit_detail |= {"refused": {"body": exc.message}}
        raise exc.explained(CHANGE_UNANSWERED) from exc.__cause__
    except RpcError as exc:
        request.state.audit_detail |= {"refused": {exc.field or "body": exc.message}}
        if exc.code == "invalid" and exc.field == "rule":
            raise not_found("alert rule", rule, field="rule") from None
        raise
    return shared_rules.rule_view(committee_id, rule, answer.rules[rule])


CHANGE_UNANSWERED = (
    "the change may already have been saved before it stopped answering. Sending the same change again is safe: it"
    " sets the same values"
)
"""Said with a 503 of PUT /v1/committees/{c}/alert-rules/{rule} that notifications did not answer: sent, perhaps
saved, and a PUT sent again sets the same values."""
