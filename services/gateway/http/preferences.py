"""A person's notification preferences (channels, daily digest), through the API as well as the web app."""

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from services.gateway.auth import Role
from services.gateway.handlers import authorize_unit, forbidden
from services.gateway.http.deps import Caller, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, ApiError
from services.gateway.http.routing import ApiRoute
from services.gateway.schemas.common import CreateModel, Id, ReadModel
from shared.contracts import notifications_rpc as notifications
from shared.contracts.base import Flag
from shared.rpc import ServiceUnavailable

router = APIRouter(prefix="/v1", tags=["inbox"], responses=COMMON_ERRORS, route_class=ApiRoute)
PEOPLE = frozenset({Role.MEMBER, Role.SECRETARY, Role.COMMITTEE_OFFICER})
KEEP_PREFERENCES = RoleCheck(PEOPLE, "keep notification preferences")
"""Only people (who have a person) keep preferences; a write checks it before its body is validated."""
Channel = Literal["email", "webhook", "inbox"]


EMAIL_NOT_ON_FILE = "email_not_on_file"


class PreferenceWarning(ReadModel):
    """Something a choice cannot do yet, though it is stored: `code` (`email_not_on_file`), the `field` it is about
    (`email`, the channel) and an English `message` saying why."""

    code: Literal["email_not_on_file"]
    field: str
    message: str


def preference_warnings(answer: notifications.PreferencesReply) -> list[dict[str, str]]:
    """The warnings of a person's preferences: `email_not_on_file` when e-mail is chosen and notifications knows the
    person without an address (`email_on_file` false; nothing said while it is not known)."""
    if "email" not in answer.channels or answer.email_on_file is not False:
        return []
    message = (
        "email is chosen but no e-mail address is on file for you: nothing is e-mailed until one is added to the"
        " member records; the choice is kept until then"
    )
    return [{"code": EMAIL_NOT_ON_FILE, "field": "email", "message": message}]


class PreferencesRead(ReadModel):
    """Which channels reach the person (always `inbox`: every notice is kept there), whether they get one daily
    digest instead of single alerts, and `available_channels`: those a choice may name here (`webhook`, the SMS
    gateway, only where the province has one configured)."""

    recipient_id: str
    channels: list[str]
    digest: bool
    stored: bool = False
    available_channels: list[str] = ["email", "inbox"]
    email_on_file: bool | None = None
    """False when no e-mail address is on file for the person (the member database gave none, nor their monitor
    assignments for an upper-level monitor): `email` may still be chosen, but nothing is e-mailed until an address
    comes; None when it is not known."""
    warnings: list[PreferenceWarning] = []
    """What the choice cannot do yet (empty when nothing): `email_not_on_file` while e-mail is chosen and
    `email_on_file` is false."""


def person_view(answer: notifications.PreferencesReply) -> dict[str, Any]:
    """What a person sees of their preferences: the fields the PUT takes back and the channels on offer. A recipient's
    own webhook address and secret are an operator's setting over RPC, not a person's, so they are not shown here;
    `warnings` (preference_warnings) says what the choice cannot do yet."""
    shown = answer.model_dump(
        include={"recipient_id", "channels", "digest", "stored", "available_channels", "email_on_file"}
    )
    return shown | {"warnings": preference_warnings(answer)}


READ_ONLY: dict[str, Any] = {"readOnly": True, "description": "Read-only, as GET answers it: taken back and ignored."}
"""How the OpenAPI document marks a field of the GET's answer that a PUT may send back and that is ignored."""


class PreferencesUpdate(CreateModel):
    """The person's choice: channels (e-mail, webhook for SMS/messaging gateways) and digest. The in-app inbox is
    always on, whether listed or not: notifications keeps every notice there and stores it among the channels.
    The GET's whole answer may be sent back edited: its read-only fields are taken and ignored (`recipient_id` must
    then be the caller's own); any other unknown field is still refused, naming it."""

    channels: list[Channel] = Field(max_length=3)
    digest: Flag = False
    recipient_id: Id | None = Field(
        default=None,
        json_schema_extra=READ_ONLY | {"description": "Read-only, as GET answers it: must be your own (else 422)."},
    )
    stored: Any = Field(default=None, json_schema_extra=READ_ONLY)
    available_channels: Any = Field(default=None, json_schema_extra=READ_ONLY)
    email_on_file: Any = Field(default=None, json_schema_extra=READ_ONLY)
    warnings: Any = Field(default=None, json_schema_extra=READ_ONLY)


def not_yours(recipient_id: Any, person: str, where: str = "/v1/me/preferences keeps only your own preferences") -> str:
    """What a refusal says of a `recipient_id` that is not the caller's own `person` (or the path's committee, said
    by `where`), after `recipient_id: `."""
    who = "you" if where.startswith("/v1/me/") else "this committee"
    return f"{recipient_id!r} is not {who}; {where} (recipient_id {person!r}): send your own or leave it out"


def require_own(body: PreferencesUpdate, person: str, where: str | None = None) -> None:
    """Nothing when the body's read-only `recipient_id` is absent or the caller's own `person`; else ApiError 422
    naming `recipient_id`: a body of someone else's preferences is not silently stored as the caller's."""
    if body.recipient_id is not None and body.recipient_id != person:
        said = not_yours(body.recipient_id, person) if where is None else not_yours(body.recipient_id, person, where)
        message = f"recipient_id: {said}"
        raise ApiError(422, "invalid", message, field="recipient_id")


def _unvalidated(value: Any, _validate: ValidatorFunctionWrapHandler) -> Any:
    """The value as it came: own_preferences validates it (a wrap validator that skips the model's validation keeps
    its schema, a reference to PreferencesUpdate, in the OpenAPI document; SkipValidation inlines it)."""
    return value


if TYPE_CHECKING:
    PreferencesJson = Any
else:
    PreferencesJson = Annotated[PreferencesUpdate, WrapValidator(_unvalidated), Body()]
"""The PUT's body as FastAPI parses it (its JSON, or FastAPI's own refusal of a body that is none), documented as
PreferencesUpdate but not validated by FastAPI: own_preferences validates it, once. Any to the type checker, which
it is."""


async def own_preferences(raw: PreferencesJson, caller: Caller) -> PreferencesUpdate:
    """The PUT's body as FastAPI parsed it (documented as PreferencesUpdate, left unvalidated by FastAPI), validated
    once here. A body that breaks the schema is refused with every fault, as any refusal of the gateway lists them
    (errors.py): one that also names someone else's `recipient_id` gets that among them (a trial's refusal named only
    the unknown field); RequestValidationError, as FastAPI's own. A valid body naming someone else's is left to the
    route (require_own)."""
    try:
        return PreferencesUpdate.model_validate(raw, from_attributes=True)  # as FastAPI validates a body
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)
        ]
    recipient = raw.get("recipient_id") if isinstance(raw, dict) else None
    person = caller.person_id
    if (
        recipient is not None
        and person
        and recipient != person
        and all(e["loc"][1:2] != ("recipient_id",) for e in errors)
    ):
        said = not_yours(recipient, person)
        errors.append({"type": "not_yours", "loc": ("body", "recipient_id"), "msg": said, "input": recipient})
    raise RequestValidationError(errors)


def person_of(caller: Caller) -> str:
    """The caller's member id; 403 for roles without one, 404-free (it is always their own)."""
    KEEP_PREFERENCES.check(caller)
    if not caller.person_id:
        raise forbidden(caller.role, "keep notification preferences without a person_id")
    return caller.person_id


@router.get("/me/preferences", response_model=PreferencesRead)
async def get_my_preferences(caller: Caller, state: State) -> Any:
    """The caller's notification preferences (the defaults until they choose), with their `warnings`."""
    return person_view(await state.rpc.call(notifications.GetPreferences(recipient_id=person_of(caller))))


@router.put(
    "/me/preferences",
    response_model=PreferencesRead,
    dependencies=[Depends(KEEP_PREFERENCES)],
)
async def set_my_preferences(
    body: Annotated[PreferencesUpdate, Depends(own_preferences)], caller: Caller, state: State
) -> Any:
    """Choose the channels and whether alerts come as one daily digest; `inbox` is always added (it cannot be off);
    422 naming `channels` for `webhook` where no SMS gateway is configured (see `available_channels`); e-mail without
    an address on file is stored and answered with the `email_not_on_file` warning. The GET's answer may be sent back
    edited: `recipient_id`, `stored`, `available_channels`, `email_on_file` and `warnings` are ignored, but a
    `recipient_id` not the caller's is refused (422 naming it)."""
    person = person_of(caller)
    require_own(body, person)
    try:
        await state.rpc.call(
            notifications.SetPreferences(recipient_id=person, channels=list(body.channels), digest=body.digest)
        )
        return person_view(await state.rpc.call(notifications.GetPreferences(recipient_id=person)))
    except ServiceUnavailable as exc:
        raise exc.explained(PREFERENCES_UNANSWERED) from exc.__cause__


OFFICERS = frozenset({Role.COMMITTEE_OFFICER})
KEEP_COMMITTEE_DELIVERY = RoleCheck(OFFICERS, "choose how a committee's notices are delivered")
"""Only committee officers choose their committee's delivery; a write checks it before its body is validated."""
CommitteePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


async def own_committee(caller: Caller, state: State, committee_id: str) -> str:
    """The committee when the caller is one of its own officers: 404 outside their subtree (as any unit they may not
    see), 403 for other roles and for an officer of a committee above it (its notices reach that committee's officers,
    who choose how)."""
    await authorize_unit(caller, committee_id, directory=state.directory, kind="committee", roles=OFFICERS)
    if caller.unit_id != committee_id:
        raise forbidden(caller.role, "choose how a committee other than their own receives its notices")
    return committee_id


@router.get("/committees/{committee_id}/preferences", response_model=PreferencesRead, tags=["committees"])
async def get_committee_preferences(committee_id: CommitteePath, caller: Caller, state: State) -> Any:
    """How the committee's own notices come (its channels, single mails or one daily digest), for its officers; 404
    outside the caller's subtree, 403 for an officer of a committee above it."""
    recipient = await own_committee(caller, state, committee_id)
    return person_view(await state.rpc.call(notifications.GetPreferences(recipient_id=recipient)))


@router.put(
    "/committees/{committee_id}/preferences",
    response_model=PreferencesRead,
    tags=["committees"],
    dependencies=[Depends(KEEP_COMMITTEE_DELIVERY)],
)
async def set_committee_preferences(
    committee_id: CommitteePath,
    body: Annotated[PreferencesUpdate, Depends(own_preferences)],
    caller: Caller,
    state: State,
    request: Request,
) -> Any:
    """Choose the committee's channels and whether its notices come as single mails or one daily digest (DOMAIN.md
    "Alerts": committees prefer a daily digest, the default); as PUT /v1/me/preferences otherwise (`inbox` always on,
    422 naming `channels` for one not on offer, `recipient_id` other than the committee refused). Audited."""
    recipient = await own_committee(caller, state, committee_id)
    require_own(body, recipient, f"/v1/committees/{recipient}/preferences keeps only this committee's delivery")
    request.state.audit_detail = {"committee_id": recipient, "channels": list(body.channels), "digest": body.digest}
    try:
        await state.rpc.call(
            notifications.SetPreferences(recipient_id=recipient, channels=list(body.channels), digest=body.digest)
        )
        return person_view(await state.rpc.call(notifications.GetPreferences(recipient_id=recipient)))
    except ServiceUnavailable as exc:
        request.state.audit_detail |= {"refused": {"body": exc.message}}
        raise exc.explained(PREFERENCES_UNANSWERED) from exc.__cause__


PREFERENCES_UNANSWERED = (
    "the preferences may already have been saved before it stopped answering. Sending the same preferences again is"
    " safe: it sets the same values"
)
"""Said with a 503 of PUT /v1/me/preferences once the change was sent and no answer came (or none to the reading
after it): perhaps saved, and the same PUT sent again sets the same values."""
