"""Shared pieces of the API models: identifiers, periods, the error shape, pages."""

import unicodedata
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from shared.contracts.base import Identifier, read_null_as_absent
from shared.contracts.base import Name as ContractName
from shared.contracts.meetings import Said
from shared.text import require_text, without_controls


def typed_text(value: Any) -> Any:
    """A person's free text as the web forms keep it (web/forms.text): without the characters that only steer or hide
    text (a right-to-left override, zero-width ones: shared.text.without_controls), so none that came through the API
    shows a title reversed on a page, in a mail or a PDF; what is left is then checked as the type says (blank is
    refused naming the field). Anything but a string is left to that check."""
    return without_controls(value) if isinstance(value, str) else value


AS_TYPED = BeforeValidator(typed_text)
"""Marks a field type as a person's free text (typed_text): every such type of a request body carries it."""

Id = Identifier
"""An id as CONTRACT.md writes them (the contract's own type): 1-64 of `A-Za-z0-9._:-`."""
Text = Annotated[Said, AS_TYPED]
"""Free text a command must fill: the contract's own type, 1-10,000 characters, as typed (typed_text)."""
Name = Annotated[ContractName, AS_TYPED]
"""A name or title: the contract's own type, 1-200 characters, as typed (typed_text)."""
Reason = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(require_text), AS_TYPED]
"""Why an operator closes, drops or sets aside something: 1-500 characters, some visible, as typed (typed_text)."""


class NotNull:
    """What a field of a change takes in place of JSON null, where null means nothing (`location` of a move: left
    out keeps the place, and a meeting always has one): an explicit null is refused naming the field (`location:
    null means nothing here; …`), never read as left out and silently ignored, and the OpenAPI document offers no
    null for it. A field's absence is not validated, so leaving it out still keeps the value."""

    def __init__(self, instead: str) -> None:
        self.instead = instead

    def refuse(self, value: Any) -> Any:
        """`value` as sent; ValueError when it is None (JSON null)."""
        if value is None:
            raise ValueError(f"null means nothing here; {self.instead}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        """The field's own schema, after refusing null."""
        return core_schema.no_info_before_validator_function(self.refuse, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """The field's JSON schema without its null branch (`anyOf: [{string}, {null}]` → the string's)."""
        said = handler(schema)
        options = [option for option in said.get("anyOf", ()) if option.get("type") != "null"]
        if len(options) == 1:
            said = {key: value for key, value in said.items() if key != "anyOf"} | options[0]
        return said


T = TypeVar("T")


class ReadModel(BaseModel):
    """Answers forwarded from a service: the known fields typed, further ones passed through."""

    model_config = ConfigDict(extra="allow")


def composed(value: Any) -> Any:
    """The value with every text (and key) in Unicode NFC, lists and objects walked."""
    if isinstance(value, str):
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {composed(key): composed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [composed(item) for item in value]
    return value


class CreateModel(BaseModel):
    """Bodies clients send: unknown fields are refused, so a typo is not silently ignored. Text is read in Unicode
    NFC before any check (CONTRACT.md stores text composed), so a length limit counts the characters stored: a
    decomposed (NFD) Vietnamese text is never refused as longer than it is."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Read null as absent in every body, as in events (`guests: null` is no roster of guests)."""
        super().__pydantic_init_subclass__(**kwargs)
        read_null_as_absent(cls)

    @model_validator(mode="before")
    @classmethod
    def _composed(cls, data: Any) -> Any:
        return composed(data)


class ErrorRead(BaseModel):
    """Every error answer: a code, a message a person can act on, and the field or service at fault."""

    code: str
    message: str
    field: str | None = None
    service: str | None = None
    reason_code: str | None = Field(default=None, exclude_if=lambda value: value is None)
    """Why, machine-readably (`meeting_cancelled`, `member_not_in_cell`, `already_replayed`...; shared.refusals),
    when the service gives a code; absent otherwise. `message` stays the English sentence."""


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPage(BaseModel, Generic[T]):
    """One page of a list read by cursor: `next` reads the following page (as `?cursor=`), null after the last."""

    items: list[T]
    limit: int
    next: str | None
