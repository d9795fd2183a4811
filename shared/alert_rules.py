"""A committee's alert settings as the API and the operators' command line read and change them: one change to
notifications' set_rule (SetRule), checked for saying something, the audit detail written for it, and the answer
with where each value comes from. services/gateway/http/alert_rules.py (GET/PUT /v1/committees/{c}/alert-rules)
and `python -m shared.ops alert-rules` both go through here, so the two never judge a change differently."""

from datetime import datetime
from typing import Any

from shared.contracts import notifications_rpc as notifications
from shared.periods import period_due
from shared.rpc import RpcError

PERIOD_RATED_LOW = "period_rated_low"
"""The rule that alerts a committee to a cell's closed period rated Average or Poor (notifications' settings), judged
once the period is over plus its `grace_days` (shared.periods.period_due); a rating arriving after that is judged
once it has gone the rule's `settle_minutes` without a newer one."""


def period_alerts_due(answer: notifications.RulesReply, period: str) -> datetime | None:
    """When the alerts on `period`'s ratings are decided under a unit's effective settings (notifications' RulesReply
    for it): shared.periods.period_due with the rule's `grace_days`, as notifications plans its check; None when the
    rule is off there or its settings do not say."""
    rule = answer.rules.get(PERIOD_RATED_LOW) or {}
    grace = (rule.get("params") or {}).get("grace_days")
    if not rule.get("enabled", True) or not isinstance(grace, int):
        return None
    return period_due(period, grace_days=grace)


def source(unit_id: str | None, committee_id: str) -> dict[str, Any]:
    """Where one value comes from, as the API says it: the default, this committee's setting, or one above it."""
    if unit_id is None:
        return {"origin": "default", "unit_id": None}
    return {"origin": "this_committee" if unit_id == committee_id else "above", "unit_id": unit_id}


def rule_view(committee_id: str, rule: str, value: dict[str, Any]) -> dict[str, Any]:
    """One rule of notifications' RulesReply as the API's AlertRuleRead."""
    set_by = value.get("set_by") or {}
    by_param = set_by.get("params") or {}
    return {
        "rule": rule,
        "enabled": value["enabled"],
        "enabled_from": source(set_by.get("enabled"), committee_id),
        "params": value["params"],
        "params_from": {name: source(by_param.get(name), committee_id) for name in value["params"]},
        "limits": value.get("limits") or {},
    }


def rules_view(answer: notifications.RulesReply, committee_id: str) -> dict[str, Any]:
    """Notifications' RulesReply as the API's AlertRulesRead."""
    return {
        "committee_id": committee_id,
        "rules": [rule_view(committee_id, rule, value) for rule, value in answer.rules.items()],
    }


def rule_change(
    committee_id: str,
    rule: str,
    *,
    enabled: bool | None = None,
    reset_enabled: bool = False,
    params: dict[str, Any] | None = None,
) -> notifications.SetRule:
    """The change of one rule for the committee's subtree: switch it on or off (`enabled`), give on or off back to the
    committees above (`reset_enabled`), and/or set parameters (a None value gives that one back to the committees
    above); RpcError invalid naming `enabled` for a change that changes nothing."""
    if enabled is None and not reset_enabled and not params:
        raise RpcError("invalid", "enabled: give enabled or params to change", field="enabled")
    return notifications.SetRule(
        unit_id=committee_id, rule=rule, enabled=enabled, reset_enabled=reset_enabled, params=params
    )


def audit_detail(change: notifications.SetRule) -> dict[str, Any]:
    """What the audit log says of a change (the API's and the command line's rows alike)."""
    detail = {"committee_id": change.unit_id, "rule": change.rule, "enabled": change.enabled}
    return detail | ({"reset_enabled": True} if change.reset_enabled else {}) | {"params": change.params or {}}
