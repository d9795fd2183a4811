"""Rejection and hold reasons said in Vietnamese for the operator's page; the technical reason stays beside them.

Services write reasons in English for logs and integrators (`data.starts_at: 1999-01-01T19:30:00+07:00 is before
2000-01-01`); an operator reads what went wrong and which field in Vietnamese first. Unknown wordings fall back to a
sentence naming the field, never to nothing."""

import math
import re
from collections.abc import Mapping
from typing import Any

from services.gateway.web.i18n import N_, _, format_number
from shared.reading import MAX_EVENT_BYTES, digits_too_many
from shared.refusals import RefusalCode
from shared.text import is_ascii_number

OUTSIDE_SCOPE = re.compile(r"the only subtree this account may write")
"""How meetings ends every reason about a sender's write scope (services/meetings/handlers/scope.py)."""
OUTSIDE_SCOPE_SAID = N_("What the event names lies outside what the sending account may write.")

DROPPED = "dropped by an operator: "
"""How meetings' reason begins for a held event an operator dropped (services/meetings/handlers/holds.py)."""
DROPPED_SAID = N_("An operator stopped holding this event (their reason: %(note)s).")
"""A drop, said without the field's `<Mục>: …` (the field named why the event was held, not why it was dropped)."""
SENT_SAID = {
    "text": N_("a string of characters"),
    "a number": N_("a number"),
    "true or false": N_("true or false"),
    "a list": N_("a list"),
    "an object": N_("an object"),
}
"""What shared.envelope.sent_kind says was sent instead (`…, not a number (1733000000)`), as a sentence says it."""
SENT = r"(?P<sent>" + "|".join(SENT_SAID) + r")(?: \(.*\))?$"
"""The end of a reason naming the JSON kind sent (shared.envelope.sent_kind; a number's value in brackets)."""
EXPECTED_SAID = {
    "string": N_("text in quotes"),
    "integer": N_("a whole number written without quotes (such as 1980)"),
    "number": N_("a number written without quotes (such as 8)"),
    "boolean": N_("true or false, written without quotes"),
    "list": N_("a JSON list (between [ and ]), even of one item"),
    "dictionary": N_("a JSON object (between { and })"),
}
"""The kind a field needs, as pydantic names it (`Input should be a valid integer`), as a sentence says it."""
TIME_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (
            r"month (?P<month>[0-9]+) is out of range: a month is 01 to 12",
            N_("Month %(month)s does not exist: a month is 01 to 12."),
        ),
        (
            r"day (?P<day>[0-9]+) is not in (?P<year>[0-9]+)-(?P<month>[0-9]+), which has (?P<last>[0-9]+) days",
            N_("Day %(day)s is not in month %(month)s/%(year)s, which has %(last)s days."),
        ),
        (
            r"hour (?P<hour>[0-9]+) is out of range: an hour is 00 to 23",
            N_("Hour %(hour)s is out of range: an hour is 00 to 23 (midnight is 00:00 of the next day)."),
        ),
        (
            r"minute (?P<minute>[0-9]+) is out of range: a minute is 00 to 59",
            N_("Minute %(minute)s is out of range: a minute is 00 to 59."),
        ),
        (
            r"offset (?P<offset>[+-][0-9]+:[0-9]+) is out of range",
            N_("The time zone offset %(offset)s is out of range: an offset is at most ±23:59 (Vietnam is +07:00)."),
        ),
        (
            r"a second is 00 to 59 \(60 only for a leap second\)",
            N_("A second is 00 to 59 (60 only for a leap second, at 23:59 UTC on a month's last day)."),
        ),
        (
            r"a leap second \(second 60\) is only at 23:59 UTC",
            N_("A second is 00 to 59 (60 only for a leap second, at 23:59 UTC on a month's last day)."),
        ),
        # shared.envelope.sent_kind: a value of another JSON kind than text (`"starts_at": 1733000000`), said so, not
        # as a text without seconds is (the line below): RFC 3339 is text in quotes, a number is never read as a time
        (
            rf"a time must be RFC 3339 text such as \S+, not {SENT}",
            N_(
                "It must be a time written as text in quotes (RFC 3339, such as “2026-11-01T08:00:00+07:00”), not "
                "%(sent)s."
            ),
        ),
        (
            r"a time must be RFC 3339 text such as [^,\s]+$",  # stored before the kind sent was said: never text
            N_(
                "It must be a time written as text in quotes (RFC 3339, such as “2026-11-01T08:00:00+07:00”); the "
                "value sent is not text."
            ),
        ),
        (
            rf"a date must be YYYY-MM-DD text, not {SENT}",
            N_("It must be a date written as text in quotes (YYYY-MM-DD, such as “2026-11-01”), not %(sent)s."),
        ),
        (r"a date must be YYYY-MM-DD", N_("It must be a date written YYYY-MM-DD, such as 2026-11-01.")),
    )
)
"""What shared.envelope says of a date or a date-time whose month, day, hour, minute or offset is out of range
(day_text_problem, clock_problem, offset_problem), each said in Vietnamese with the part's value: the operator's page
(REJECTIONS begin with them) and the forms (forms.message, forms.moment) say them alike."""


def kinds_said(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a match with the JSON kinds it names (`sent`: SENT_SAID, `expected`: EXPECTED_SAID) said in
    Vietnamese (`a number` → `một con số`); other values as they are."""
    if values.get("sent") in SENT_SAID:
        values = values | {"sent": _(SENT_SAID[values["sent"]])}
    if values.get("expected") in EXPECTED_SAID:
        values = values | {"expected": _(EXPECTED_SAID[values["expected"]])}
    return values


def month_unpadded(values: dict[str, Any]) -> dict[str, Any]:
    """The values of a TIME_PROBLEMS match with the month a day is not in (`month`, beside `last`) written as every
    month a person reads is (i18n.format_period: `tháng 2/2026`, not shared.envelope's `02`); other values as
    written (a month out of range is said as typed: `Tháng 13`)."""
    if values.get("last") is not None and values.get("month"):
        return values | {"month": str(int(values["month"]))}
    return values


def explain_time_problem(text: str) -> str | None:
    """The Vietnamese of an English date or date-time problem (TIME_PROBLEMS: `hour 24 is out of range: …` → `Giờ 24
    nằm ngoài …`), its values as written; None when `text` says no such problem."""
    for pattern, message in TIME_PROBLEMS:
        if match := pattern.search(text):
            values = kinds_said(month_unpadded(match.groupdict()))
            return _(message, **values) if values else _(message)
    return None


MISSING = N_("A required field is missing.")
"""A reason saying a required field was not sent (pydantic's `Field required`, our `missing …`); said of its field
by missing_field, the field first, for every field alike."""
MISSING_SAID = N_("Missing %(field)s (%(path)s): it is a required field.")
"""MISSING of a field the contract names: its label and its path (`Thiếu chi bộ (cell_id): …`); a trial read
`Chi bộ: chưa được gửi, mà đây là mục bắt buộc.` as unnatural."""
MISSING_UNNAMED = N_("Missing the item %(path)s: it is a required field.")
"""MISSING of a field the contract does not name (field_label gives its path in quotes)."""


def missing_field(field: str | None) -> str:
    """The one sentence saying the required `field` (`data.cell_id`) was not sent: MISSING_SAID with its label and
    path, MISSING_UNNAMED for a path the contract does not name, MISSING alone when no field is named."""
    if not field:
        return _(MISSING)
    name = field_label(field)
    if name.startswith("“"):
        return _(MISSING_UNNAMED, path=name)
    return _(MISSING_SAID, field=name, path=field.removeprefix("data."))


VALUE_PROBLEMS: tuple[tuple[str, str], ...] = (
    # the meetings contract's own validators (shared.contracts.meetings, shared.contracts.frameworks)
    (r"the meeting must end after it starts", N_("It must be after the start time.")),
    (r"a unit cannot be its own parent", N_("A unit cannot be its own parent unit: give its superior committee.")),
    (
        r"member (?P<member>\S+) is listed twice",
        N_("The member %(member)s is listed twice: list each member once."),
    ),
    (r"task ids must be unique", N_("Two tasks have the same id: give each task its own id.")),
    (r"at least one item must be scored", N_("No item is scored: an assessment scores at least one item.")),
    (r"must be a finite number|Input should be a finite number", N_("A number is not finite (NaN or Infinity).")),
    (
        r"not an item assessed by hand in framework",
        N_(
            "This item is not one assessed by hand in the criteria framework in force; the technical detail lists "
            "the items that are."
        ),
    ),
    # pydantic's words for a value of the wrong JSON type (validation_message keeps them), ended by the kind sent
    (
        r"Input should be a valid (?P<expected>" + "|".join(EXPECTED_SAID) + r"), not " + SENT,
        N_("It must be %(expected)s, not %(sent)s."),
    ),
    (
        r"Input should be a valid integer, got a number with a fractional part",
        N_("It must be a whole number, without a fractional part."),
    ),
    (
        r"Input should be a valid integer",
        N_("It must be a whole number written without quotes (such as 1980), not a string of characters."),
    ),
    (
        r"Input should be a valid number",
        N_("It must be a number written without quotes (such as 8), not a string of characters."),
    ),
    (
        r"Input should be a valid boolean",
        N_("It must be true or false, written without quotes."),
    ),
    (
        r"Input should be a valid string",
        N_("It must be text in quotes, not a number, true/false, a list or an object."),
    ),
    (r"Input should be a valid list", N_("It must be a JSON list (between [ and ]), even of one item.")),
    (r"Input should be (?P<choices>'[^']*'(?:, '[^']*')* or '[^']*')$", N_("It must be one of %(choices)s.")),
    (r"Input should be greater than or equal to (?P<limit>\S+)$", N_("It must be at least %(limit)s.")),
    (r"Input should be less than or equal to (?P<limit>\S+)$", N_("It must be at most %(limit)s.")),
    (r"Input should be greater than (?P<limit>\S+)$", N_("It must be greater than %(limit)s.")),
    (r"Input should be less than (?P<limit>\S+)$", N_("It must be less than %(limit)s.")),
    (
        r"List should have at least (?P<count>[0-9]+) items? after validation",
        N_("The list must hold at least %(count)s item(s); the list sent holds fewer."),
    ),
    (
        r"(?:List|Dictionary) should have at most (?P<count>[0-9]+) items?",
        N_("It holds more than the %(count)s items allowed."),
    ),
    (
        re.escape(r"String should match pattern '^[^@\s]+@"),
        N_("It must be an e-mail address such as chibo@example.vn."),
    ),
    (
        re.escape(r"String should match pattern '^\+?[0-9 .-]{6,20}$'"),
        N_("It must be a phone number: 6 to 20 digits, spaces, dots or hyphens, optionally beginning with +."),
    ),
    (
        re.escape(r"String should match pattern '^[a-z_]+(\.[a-z_]+)*$'"),
        N_("An item code is lower-case letters a-z and underscores, its parts separated by dots (such as a.b_c)."),
    ),
    (
        r"String should match pattern",
        N_("It is not written in the form required; the technical detail gives the form."),
    ),
    # validation_message: JSON null where a value is needed, said with what is needed
    (r"null is not a value here; give text$", N_("It is empty (null): give text.")),
    (r"null is not a value here; give a whole number$", N_("It is empty (null): give a whole number.")),
    (r"null is not a value here; give a number$", N_("It is empty (null): give a number.")),
    (r"null is not a value here; give true or false$", N_("It is empty (null): give true or false.")),
    (r"null is not a value here; give a list$", N_("It is empty (null): give a list (between [ and ]).")),
    (r"null is not a value here; give an object$", N_("It is empty (null): give an object (between { and }).")),
    # shared.envelope: the envelope's attributes
    (
        r"a time is at most 128 characters",
        N_("A time is written in at most 128 characters (RFC 3339, such as 2026-11-01T08:00:00+07:00)."),
    ),
    (
        r"not a URI reference \(RFC 3986\)",
        N_("It must be a URI reference (RFC 3986), such as urn:example:system or https://example.vn/system."),
    ),
    (
        r"must be application/json \(media-type parameters allowed\)",
        N_("The data's content type must be application/json (parameters such as charset=utf-8 are allowed)."),
    ),
    (
        r"an extension attribute name is 1-20 of a-z0-9",
        N_("An extension attribute's name is 1 to 20 characters of lower-case letters a-z and digits 0-9."),
    ),
    (
        r"at most 128 characters of A-Za-z0-9\._:-",
        N_(
            "An extension attribute's value is at most 128 characters: letters A-Z and a-z, digits, and the dot, "
            "underscore, colon and hyphen (. _ : -)."
        ),
    ),
    (r"keys must be text", N_("A key of a JSON object is not text.")),
    # shared.bindings: the attribute headers of binary mode (HTTP ce-, AMQP cloudEvents: and ce_)
    (
        r"^datacontenttype: in binary mode it travels in the message's content type .* never as the header "
        r"(?P<header>\S+); drop the header",
        N_(
            "In binary mode the data's content type travels in the message's own content type (HTTP Content-Type, "
            "the AMQP content_type property), never in the header %(header)s: drop that header and send the event "
            "again."
        ),
    ),
    (
        r"given more than once in the headers \((?P<header>[^)]*)\)",
        N_("This attribute is given more than once in the headers (%(header)s): send each attribute once."),
    ),
    (
        r"the AMQP timestamp (?P<value>-?[0-9]+) ms in (?P<header>\S+) is no time a calendar has",
        N_("The AMQP timestamp %(value)s ms in %(header)s is no time a calendar has (it counts ms since 1970)."),
    ),
    (r"the header's value is not UTF-8", N_("The header's value is not valid UTF-8 text.")),
    (
        r"the header's percent-encoding is malformed",
        N_(
            "The header's percent-encoding is malformed: each “%” must be followed by two hexadecimal digits (a "
            "“%” itself is written %25), and the bytes written so must be UTF-8."
        ),
    ),
    # meetings: an event whose handling failed, kept for a replay (handlers/ingest.py)
    (
        r": could not be applied \(",
        N_(
            "The service failed while applying this event (a fault, see the technical detail); it is kept for an "
            "operator to send again once the cause is fixed."
        ),
    ),
    # meetings: an operator's correction of a rejected event (handlers/ingest.py check_correction*)
    (
        r"a correction keeps the rejected event's (?P<attribute>[a-z_]+)",
        N_(
            "A correction keeps the rejected event's %(attribute)s: it corrects that event's data, it does not "
            "send another event."
        ),
    ),
    (r"a correction is a CloudEvent object", N_("A correction is a whole CloudEvent, a JSON object.")),
)
"""What the meetings service says of a value of the wrong kind, out of range or badly written (pydantic's words as
shared.envelope.validation_message keeps them, the contract's validators, shared.bindings' header checks), each
said in Vietnamese with what to do; part of REJECTIONS."""


REJECTIONS: tuple[tuple[re.Pattern[str], str], ...] = TIME_PROBLEMS + tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"still unresolved after [0-9]+ s\)$", N_("It waited longer than allowed for data that never arrived.")),
        (r": duplicate key$", N_("The same key appears twice in one JSON object.")),
        (r"is in the future", N_("The time of the event lies in the future, beyond the allowed clock difference.")),
        # meetings' as_routed: the English names the type, the key it came under and the key it belongs under
        (
            r"^type: (?P<type>\S+) arrived under routing key (?P<q>['\"])(?P<key>.*?)(?P=q); on chibo\.ingest an event"
            r" of a batch is published with routing key (?P<r>['\"])(?P<expected>.*?)(?P=r)$",
            N_(
                "The event %(type)s arrived in a batch under the routing key “%(key)s”; on chibo.ingest a batch is "
                "published under the routing key “%(expected)s”."
            ),
        ),
        # shared.consuming.misrouted_reason: on chibo.events the key is the type, for each event of a batch too
        (
            r"^type: (?P<type>\S+) arrived under routing key (?P<q>['\"])(?P<key>.*?)(?P=q); on chibo\.events an event"
            r", and each event of a batch, is published with routing key = its type$",
            N_(
                "The event %(type)s arrived on chibo.events under the routing key “%(key)s”; there an event, and "
                "each event of a batch, is published under its own type as the routing key."
            ),
        ),
        (
            r"^type: (?P<type>\S+) arrived under routing key (?P<q>['\"])(?P<key>.*?)(?P=q); on chibo\.ingest an event"
            r" is published with routing key (?P<r>['\"])(?P<expected>.*?)(?P=r)$",
            N_(
                "The event %(type)s arrived under the routing key “%(key)s”; on chibo.ingest an event is published "
                "under its own type as the routing key (“%(expected)s”)."
            ),
        ),
        # shared.bindings: a message's content type no mode reads, and an attribute header under another prefix
        (
            r"^datacontenttype: the content type (?P<q>['\"])(?P<type>.*?)(?P=q) is no CloudEvents content type",
            N_(
                "The content type “%(type)s” is not accepted: send the whole event as application/cloudevents+json "
                "(a batch as application/cloudevents-batch+json), or its attributes in ce- headers with its data as "
                "application/json."
            ),
        ),
        (
            r": the header prefix (?P<q>['\"])(?P<prefix>.*?)(?P=q) is not one CloudEvents attributes are read under"
            r" on (?P<route>\S+) \(only (?P<accepted>[^)]*)\)",
            N_(
                "The header prefix “%(prefix)s” is not one under which CloudEvents attributes are read on %(route)s "
                "(only %(accepted)s), so this attribute was not read."
            ),
        ),
        # shared.text.require_text: a text of only spaces or invisible characters is empty, said so
        (
            r"must hold visible text, not only spaces or invisible characters",
            N_("It must not be empty: it holds only spaces or invisible characters."),
        ),
        (r"String should have at least 1 character", N_("It must not be empty.")),
        # shared.web_address: which part of an http(s) address is wrong (the last, a reason stored before it)
        (r"must begin with http:// or https://", N_("It must begin with http:// or https://.")),
        (r"names no host after https?://", N_("It names no domain name after http:// or https://.")),
        (
            r"the host '(?P<host>[^']*)' is not a domain name or an IP address",
            N_("The domain name “%(host)s” is not valid."),
        ),
        (
            r"holds a user name or password before its host \(the text up to '@'\), which opens '(?P<host>[^']*)'",
            N_(
                "The address holds a user name or password before the domain name (the text up to “@”); the link "
                "would open “%(host)s” whatever that text says, so an address holds none."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(its part "
            r"'(?P<part>[^']*)' is read as a hexadecimal number\)",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (its part “%(part)s” is read "
                "as a hexadecimal number); write %(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(its part "
            r"'(?P<part>[^']*)' begins with 0",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (its part “%(part)s” begins "
                "with 0, so it is read as an octal number); write %(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(it is written in "
            r"(?P<parts>[0-9]) parts?, not 4",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (it has %(parts)s parts "
                "instead of 4); write %(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(it ends in a dot\)",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (it ends in a dot); write "
                "%(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(its character "
            r"'(?P<char>.)' \((?P<point>U\+[0-9A-F]+)\) is read as '(?P<read>[^']*)'\)",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (its character “%(char)s” "
                "(%(point)s) is read as “%(read)s”); write %(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' opens the IP address (?P<ip>[0-9.]+) in a browser \(it is an IPv4-mapped "
            r"IPv6 address\)",
            N_(
                "The address “%(host)s” is opened by browsers as the IP address %(ip)s (it is an IPv4-mapped IPv6 "
                "address); write %(ip)s."
            ),
        ),
        (
            r"the host '(?P<host>[^']*)' stands for the IP address (?P<ip>[0-9.]+) in the deprecated "
            r"IPv4-compatible IPv6 form",
            N_(
                "The address “%(host)s” stands for the IP address %(ip)s in the deprecated IPv4-compatible IPv6 "
                "form; write %(ip)s."
            ),
        ),
        (
            r"the port '(?P<port>[^']*)' is not a number from 1 to 65535",
            N_("The port “%(port)s” is not valid; a port is a number from 1 to 65535."),
        ),
        (
            r"holds a space or an invisible character \((?P<point>U\+[0-9A-F]+) at character (?P<position>[0-9]+)\)",
            N_(
                "The address holds a space or an invisible character (%(point)s, character %(position)s); an "
                "address holds none (a space is written %%20)."
            ),
        ),
        (
            r"holds '(?P<char>.)' at character (?P<position>[0-9]+), which an address holds only percent-encoded",
            N_(
                "The address holds the character “%(char)s” (character %(position)s), which an address may hold only "
                "percent-encoded."
            ),
        ),
        (
            r"the '%' at character (?P<position>[0-9]+) is not followed by two hex digits",
            N_(
                "The “%%” at character %(position)s is not followed by two hexadecimal digits (a “%%” itself is "
                "written %%25)."
            ),
        ),
        (r"the document's http or https address", N_("It must be a web address beginning with http:// or https://.")),
        # pydantic's words for a value that is not the one allowed, and for a list or value where an object belongs
        (r"Input should be '(?P<expected>[^']*)'$", N_("It must be “%(expected)s”.")),
        (
            r"an id is 1-64 characters of A-Za-z0-9\._:-",
            N_(
                "An id is 1 to 64 characters: letters A-Z and a-z, digits, and the dot, underscore, colon and hyphen "
                "(. _ : -)."
            ),
        ),
        (
            r"a time must be RFC 3339",
            N_("It must be a time in RFC 3339 with seconds and an offset, such as 2026-11-01T08:00:00+07:00."),
        ),
        (
            r"Input should be a valid dictionary",
            N_("It must be a JSON object (between { and }), not a list or a single value."),
        ),
        (
            r"is before 2000|more than 2 years ahead",
            N_("The meeting's time is outside the allowed window (from 2000 to at most two years ahead)."),
        ),
        (
            # the gateway's own limit on a whole request (limits.BodySizeLimit; shared.reading.body_over_limit); the
            # bare form of the per-event limit (shared.reading.read_value: `body: larger than 1048576 bytes`, a dead
            # letter's cause) is the event's 1 MiB, not the gateway's
            rf"^body: larger than (?!{MAX_EVENT_BYTES} bytes$)(?P<most>[0-9]+) bytes(?:$|, the limit of one HTTP "
            r"request)",
            N_(
                "What was sent is larger than the gateway's size limit of %(most)s bytes for one request; it was not "
                "read in full and only its beginning was kept."
            ),
        ),
        (r"larger than [0-9]+ bytes", N_("The event is larger than the 1 MiB limit.")),
        (
            r"bytes as meetings publishes it",
            N_("The event's data is too large: once published with its envelope it would pass the 1 MiB limit."),
        ),
        (r"nested deeper than", N_("The JSON is nested more than 32 levels deep.")),
        (
            r"not valid UTF-8|unpaired surrogate|contains U\+0000",
            N_("The text holds invalid characters (broken UTF-8 or a control character)."),
        ),
        (r"not a finite number", N_("A number is not finite (NaN or Infinity).")),
        # shared.reading.number_too_long; before it, Python's own words (`… for integer string conversion …`)
        (
            r"number too long \((?P<count>[0-9]+) digits; at most (?P<most>[0-9]+)\)",
            N_("A number has %(count)s digits, more than the %(most)s digits a number may have."),
        ),
        (r"for integer string conversion", N_("A number has more digits than a number may have.")),
        (r"a batch holds at most", N_("A batch holds more than the 1,000 events allowed.")),
        (r"a batch must be a JSON array", N_("A batch must be a JSON array of events.")),
        (r"a batch holds at least one event", N_("The batch sent is empty: a batch holds at least one event.")),
        (
            r"should have at most (?P<count>[0-9]+) characters?",
            N_("It is longer than the %(count)s characters allowed."),
        ),
        (
            r"not valid JSON|must be a JSON (object|array)|^body: (empty|not an event)",
            N_("What was sent is not a valid JSON event."),
        ),
        (r"not an event this system accepts|unknown event type", N_("The system does not accept this type of event.")),
        (OUTSIDE_SCOPE.pattern, OUTSIDE_SCOPE_SAID),
        # the next three only for rejections stored before meetings gave codes (BY_CODE says them for newer ones)
        (r"is not in cell|no record puts member", N_("The member does not belong to this cell on the meeting's date.")),
        (r"is cancelled", N_("The meeting has been cancelled, so this is no longer possible.")),
        (r"already held", N_("The meeting has already taken place, so it cannot be moved or cancelled.")),
        (r"belongs to another cell", N_("The meeting belongs to another cell; a meeting never changes cell.")),
        # shared.contracts.frameworks.check_points: the points sent and the item's maximum, both said (a trial's
        # "Điểm vượt quá mức tối đa của tiêu chí." named neither, so the person could not tell what to send)
        # shared.contracts.meetings.item_code and check_points: a point's code no item of the framework in force has,
        # its form already telling (a trial's `ZZ9`) or the framework lacking it, said alike and naming the code
        (
            r"^data\.points\.(?P<item>.+?): not an item of the framework in force: an item code",
            N_(
                "The criterion code “%(item)s” is not in the criteria framework in force: a criterion code is "
                "lower-case letters a-z and underscores, its parts separated by dots (such as attendance.rate)."
            ),
        ),
        (
            r"^data\.points\.(?P<item>.+?): not an item of the framework in force assessed by hand",
            N_(
                "The criterion “%(item)s” is not in the criteria framework in force, or is not one assessed by "
                "hand; the technical detail lists the criteria that are."
            ),
        ),
        (
            r"^data\.points\.(?P<item>[a-z_]+(?:\.[a-z_]+)*): (?P<given>\S+) is above the item's maximum of "
            r"(?P<maximum>\S+)$",
            N_("%(given)s is above the maximum of %(maximum)s points of the criterion “%(item)s”."),
        ),
        (
            r"(?P<given>\S+) is above the item's maximum of (?P<maximum>\S+)$",
            N_("%(given)s is above the criterion's maximum of %(maximum)s points."),
        ),
        (r"needs a topic", N_("A thematic or combined meeting needs a topic.")),
        (
            r"cannot contain units|would make a cycle|is a (cell|committee), not a",
            N_("The parent unit or the kind of unit is not valid."),
        ),
        (
            r"is unknown|is not scheduled|has no minutes yet|is not in the minutes",
            N_("It refers to data not known yet."),
        ),
        *VALUE_PROBLEMS,
        (r"[Ff]ield required|[Mm]issing", MISSING),
    )
)
BY_CODE = {
    RefusalCode.MEMBER_NOT_IN_CELL: N_("The member does not belong to this cell on the meeting's date."),
    RefusalCode.MEMBER_NOT_PLACED: N_("The member does not belong to this cell on the meeting's date."),
    RefusalCode.MEETING_CANCELLED: N_("The meeting has been cancelled, so this is no longer possible."),
    RefusalCode.MEETING_ALREADY_HELD: N_("The meeting has already taken place, so it cannot be moved or cancelled."),
    RefusalCode.MEETING_MINUTES_RECORDED: N_(
        "The meeting has already been held (its minutes are recorded), so its time cannot be moved; a meeting "
        "recorded on the wrong day is cancelled and scheduled again at the time it was really held."
    ),
    RefusalCode.SOURCE_NOT_REGISTERED: N_(
        "The sending account has not registered this source; it may send only under the sources registered to it."
    ),
    RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT: N_(
        "This source is registered to another system's account; only that account may send under it."
    ),
    RefusalCode.DATA_BASE64_UNSUPPORTED: N_(
        "The event carries data_base64, which this system does not read: send the data as a JSON object in data."
    ),
    RefusalCode.SOURCE_RESERVED: N_(
        "Sources beginning with urn:chibo: belong to this system itself; no integration may send under them."
    ),
    RefusalCode.ID_REUSED: N_(
        "This event id was already used by a different event from the same source, so it was not taken as a copy."
    ),
    RefusalCode.APPROVED_BEFORE_MEETING: N_("Minutes cannot be adopted before the meeting has begun."),
    RefusalCode.MEETING_TOO_LONG: N_("The meeting's end is more than 24 hours after its start."),
    RefusalCode.SELF_CRITICISM_OVER_MEETING: N_(
        "The minutes of self-criticism are more than the whole meeting lasted."
    ),
    RefusalCode.MINUTES_FAR_FROM_SCHEDULE: N_(
        "The start in the minutes is more than 7 days from the meeting's scheduled time; if the meeting took place at "
        "another time, first correct its time on its record page (“Reschedule”, or “Correct when it took place” once "
        "its attendance is recorded)."
    ),
    RefusalCode.BEYOND_HORIZON: N_("The date is more than 2 years after the time of the event."),
    RefusalCode.COMPLETED_BEFORE_MEETING: N_("The task's completion date is before the meeting that assigned it."),
    RefusalCode.BORN_AFTER_EVENT: N_("The year of birth is later than the time of the event."),
    RefusalCode.ADMITTED_BEFORE_BIRTH: N_("The date of admission is before the year of birth."),
    RefusalCode.UNIT_WITHOUT_PARENT: N_(
        "A cell must belong to a committee: only a committee, the province committee at the top of the tree, may "
        "have no parent unit."
    ),
    RefusalCode.MONITOR_COMMITTEE_NOT_ABOVE: N_(
        "The committee of the assigned comrade is not a higher-level committee of this cell."
    ),
    RefusalCode.SCOPE_ROOT_MANAGED_ABOVE: N_(
        "This unit is the root of the sending account's scope: its own record is managed from above (its superior "
        "committee or the national member database), not by that account."
    ),
    RefusalCode.HOLD_EXPIRED: N_(
        "The data it refers to did not arrive in time, so it was refused when the wait ran out."
    ),
    RefusalCode.MEETING_EXISTS: N_(
        "A meeting with this id is already scheduled; scheduling never overwrites a meeting (moving it is a "
        "reschedule)."
    ),
    RefusalCode.MEETING_ID_NOT_CELLS: N_(
        "A meeting id chosen for a new meeting begins with this cell's own id (then “-”), or is left out so that the "
        "system makes one."
    ),
    RefusalCode.MEETING_NOT_STARTED: N_(
        "The meeting has not begun yet: attendance, minutes and assessments are recorded once it has taken place."
    ),
    RefusalCode.MEETING_TOOK_PLACE: N_(
        "The meeting has already taken place and its attendance is recorded, so its secretary can no longer cancel "
        "it, nor move it to a time still to come; only the time it took place can be corrected, to a time already "
        "past."
    ),
    RefusalCode.MOVED_INTO_THE_PAST: N_(
        "This time has already passed: a meeting still ahead can only be moved to a time still ahead, and its "
        "members are told of the new time."
    ),
    RefusalCode.MOVED_BEFORE_NOTICE: N_(
        "This time is earlier than, or the very moment of, when the members were notified of the meeting: a meeting "
        "can only be moved to a time after its notice, so that its members are told before it begins."
    ),
    RefusalCode.SCHEDULED_IN_THE_PAST: N_(
        "This time has already passed: a new meeting is scheduled at a time still ahead, so that its members are "
        "told of it beforehand. If the meeting has already taken place, record it with “Record a meeting already "
        "held”."
    ),
    RefusalCode.HELD_START_AHEAD: N_(
        "This time has not come yet: only a meeting that has already begun is recorded as held; a meeting still ahead "
        "is scheduled, so that its members are notified."
    ),
    RefusalCode.HELD_TOO_LONG_AGO: N_(
        "This time is more than 7 days ago: a meeting already held is recorded here within 7 days of its start."
    ),
    RefusalCode.MINUTES_NOT_ADOPTED: N_(
        "The votes in favour are not more than half of the votes cast, so the minutes were not adopted."
    ),
    RefusalCode.RESOLUTION_NOT_VOTED: N_(
        "Nobody voted (0 in favour, 0 against, 0 abstaining): a resolution is voted on by the comrades present."
    ),
    RefusalCode.VOTES_OVER_PRESENT: N_("There are more votes than members present at the meeting."),
    RefusalCode.VOTES_OVER_MEMBERS: N_("There are more votes than members in the cell."),
    RefusalCode.MINUTES_IN_THE_FUTURE: N_(
        "This time has not come yet: minutes record a meeting that has already taken place."
    ),
    RefusalCode.PUBLISHED_IN_THE_FUTURE: N_(
        "This time has not come yet: documents are published when they are sent, or were published earlier."
    ),
    RefusalCode.PUBLISHED_BEFORE_RECORDED: N_(
        "This time is before the meeting was recorded as already held: its documents are published from then on, "
        "after the meeting began."
    ),
    RefusalCode.COMPLETED_IN_THE_FUTURE: N_(
        "This day has not come yet: enter the day the task was done (today or earlier)."
    ),
    RefusalCode.NOTIFIED_AFTER_START: N_(
        "Members are notified before the meeting starts: give when they were told before it, or leave it empty."
    ),
    RefusalCode.TASK_DUE_BEFORE_MEETING: N_("The due date is before the meeting that assigns the task."),
    RefusalCode.REASON_FOR_PRESENT: N_(
        "A member marked present has no reason for absence: choose the right status or clear the reason."
    ),
    RefusalCode.REASON_FOR_UNEXCUSED: N_(
        "An absence without leave has no reason: choose “Absent with leave” if there was one, or clear the reason."
    ),
    RefusalCode.ABSENT_AT_MEETING: N_(
        "This member is not marked present on the meeting's roster, so cannot chair, record or speak at it."
    ),
    RefusalCode.MEETING_AT_SAME_TIME: N_("Another meeting of the cell starts within an hour of this one."),
    RefusalCode.ROSTER_INCOMPLETE: N_(
        "The roster leaves out members of the cell: it lists every member of the cell at the meeting's start, those "
        "exempt or transferred with that status."
    ),
    RefusalCode.ROSTER_NOT_IN_CELL_AT_START: N_(
        "The meeting's recorded attendance lists members who were not in the cell at the new time, so its time was "
        "not corrected."
    ),
    RefusalCode.ROSTER_MISSING_AT_START: N_(
        "The meeting's recorded attendance leaves out members who were in the cell at the new time, so its time was "
        "not corrected."
    ),
    RefusalCode.EXCUSED_WITHOUT_REASON: N_("An excused absence comes with its reason: fill in the reason."),
    RefusalCode.MONITOR_NOT_ASSIGNED: N_(
        "This person is not an upper-level committee member assigned to follow the cell, so cannot assess as such."
    ),
    RefusalCode.GUEST_COMMITTEE_UNKNOWN: N_(
        "This committee is not a higher-level committee of this cell known to the system: give the guest's committee "
        "above the cell, or leave it empty; the roster was not recorded."
    ),
    RefusalCode.TASK_NOT_IN_MINUTES: N_(
        "This task is not in the recorded minutes of this meeting, so it was not marked done."
    ),
    RefusalCode.MINUTES_NOT_SUBMITTED: N_(
        "This meeting has no minutes yet: record the minutes first, then their adoption."
    ),
    RefusalCode.MINUTES_OFF_MEETING_DAY: N_(
        "The saved minutes are dated another day than the meeting's (its time was corrected after they were saved), "
        "so they cannot be adopted yet: save the minutes again dated the meeting's day, then record their adoption."
    ),
    RefusalCode.ITEM_NOT_APPLICABLE: N_(
        "This item of the criteria framework does not apply to this kind of meeting, so it takes no points: leave it "
        "empty; the assessment was not recorded."
    ),
    RefusalCode.ROSTER_NOT_RECORDED: N_(
        "This meeting has no attendance recorded yet: the minutes hold who was summoned, present and absent, so "
        "record the attendance first, then the adoption of the minutes."
    ),
    RefusalCode.MEETING_UNKNOWN: N_("This meeting is not scheduled in the system."),
    RefusalCode.MINUTES_ADOPTED: N_(
        "The cell has already adopted these minutes: the adopted minutes are the official record and can no longer "
        "be changed."
    ),
}
"""Rejections meetings gives a code (shared.refusals), said by the code whatever the English reason's wording."""
BY_CODE_VALUED: dict[RefusalCode, tuple[tuple[re.Pattern[str], str], ...]] = {
    code: tuple((re.compile(pattern), message) for pattern, message in said)
    for code, said in {
        RefusalCode.VOTES_OVER_PRESENT: (
            (
                r": (?P<cast>[0-9]+) votes with (?P<voters>[0-9]+) members present",
                N_("%(cast)s votes in all, more than the %(voters)s members present at the meeting."),
            ),
            (
                r"has (?P<cast>[0-9]+) votes and this roster lists (?P<voters>[0-9]+) members present",
                N_("A resolution of the minutes has %(cast)s votes, more than the %(voters)s members present."),
            ),
            (
                r"adopted by (?P<cast>[0-9]+) votes and this roster lists (?P<voters>[0-9]+) members present",
                N_("The minutes were adopted by %(cast)s votes, more than the %(voters)s members present."),
            ),
        ),
        RefusalCode.VOTES_OVER_MEMBERS: (
            (
                r": (?P<cast>[0-9]+) votes with (?P<voters>[0-9]+) members in the cell",
                N_("%(cast)s votes in all, more than the %(voters)s members of the cell."),
            ),
        ),
        RefusalCode.SELF_CRITICISM_OVER_MEETING: (
            (
                r": (?P<spent>[0-9.]+) minutes of self-criticism in a meeting of (?P<lasted>[0-9.]+) minutes",
                N_("%(spent)s minutes of self-criticism, more than the %(lasted)s minutes the whole meeting lasted."),
            ),
        ),
    }.items()
}
"""Coded rejections of a count over its bound said with the count and the bound (a trial's lines named neither:
`Số phiếu nhiều hơn số đảng viên có mặt…`), read off the English reason meetings writes with them
(services/meetings/domain check_votes_within_roster, roster_against_minutes, check_roster_against_adoption,
_check_minutes_moments); a reason in other words is said by BY_CODE alone."""


def by_code(code: RefusalCode, reason: str) -> str:
    """A coded rejection in Vietnamese: with its count and bound when BY_CODE_VALUED reads them off `reason`, else
    BY_CODE's line."""
    for pattern, message in BY_CODE_VALUED.get(code, ()):
        if match := pattern.search(reason):
            return _(message, **{name: measured(value) for name, value in match.groupdict().items()})
    return _(BY_CODE[code])


WAITING_FOR = {
    "unit": N_("Waiting for the unit %(id)s to be known."),
    "member": N_("Waiting for the member %(id)s to be known."),
    "meeting": N_("Waiting for the meeting %(id)s to be scheduled."),
    "minutes": N_("Waiting for the minutes of the meeting %(id)s."),
    "roster": N_("Waiting for the attendance of the meeting %(id)s."),
    "task": N_("Waiting for the task %(id)s in the meeting's minutes."),
    "monitor": N_("Waiting for the upper-level committee member to be assigned to follow the cell (%(id)s)."),
}
ENVELOPE = {
    "body": N_("the content sent"),
    "specversion": N_("the CloudEvents version"),
    "id": N_("the event id"),
    "source": N_("the sending system"),
    "type": N_("the event type"),
    "time": N_("the time of the event"),
    "datacontenttype": N_("the data's content type"),
    "subject": N_("the event's subject"),
    "dataschema": N_("the data's schema address"),
    "data": N_("the event's data"),
    "correlationid": N_("the correlation id"),
    "causationid": N_("the causing event's id"),
    "originid": N_("the original event's id"),
    "originsource": N_("the original sending system"),
}
"""The envelope's attributes (CloudEvents and ours) and the body as a whole, as a rejection names them."""
DATA_FIELDS = {
    "abstentions": N_("the abstentions"),
    "active": N_("whether the unit is active"),
    "admitted_on": N_("the date of admission to the Party"),
    "agenda": N_("the agenda"),
    "approved_at": N_("the time the minutes were adopted"),
    "assessor": N_("the assessor"),
    "assignee_id": N_("the assignee"),
    "birth_year": N_("the year of birth"),
    "category": N_("the cell's category"),
    "cell_id": N_("the cell"),
    "chair_id": N_("the chair"),
    "comment": N_("the comment"),
    "committee_id": N_("the committee"),
    "committee_prepared": N_("whether the cell committee prepared the meeting"),
    "completed_on": N_("the completion date"),
    "conclusions": N_("the conclusions"),
    "contact_emails": N_("the contact e-mail addresses"),
    "content": N_("the meeting's content"),
    "description": N_("the task's description"),
    "due_on": N_("the due date"),
    "effective_on": N_("the effective date"),
    "email": N_("the e-mail address"),
    "ended_at": N_("the end time"),
    "exempt": N_("the exemption from meetings"),
    "full_name": N_("the full name"),
    "gender": N_("the gender"),
    "guests": N_("the guests"),
    "id": N_("the id"),
    "items": N_("the documents"),
    "kind": N_("the kind"),
    "location": N_("the place"),
    "meeting_id": N_("the meeting"),
    "member_id": N_("the member"),
    "name": N_("the name"),
    "notified_at": N_("the time members were notified"),
    "parent_id": N_("the parent unit"),
    "person_id": N_("the person"),
    "phone": N_("the phone number"),
    "points": N_("the points"),
    "published_at": N_("the publication time"),
    "reason": N_("the reason"),
    "recorder_id": N_("the recorder"),
    "records": N_("the roster"),
    "resolutions": N_("the resolutions"),
    "role": N_("the role"),
    "self_criticism_minutes": N_("the minutes of self-criticism"),
    "speakers": N_("the speakers"),
    "started_at": N_("the start time"),
    "starts_at": N_("the meeting's time"),
    "status": N_("the status"),
    "task_id": N_("the task"),
    "tasks": N_("the tasks"),
    "text": N_("the resolution's text"),
    "title": N_("the document's title"),
    "topic": N_("the topic"),
    "url": N_("the link"),
    "votes_against": N_("the votes against"),
    "votes_for": N_("the votes in favour"),
    "yearly_quota": N_("the meetings to attend each year"),
}
"""Every field of the data of every type in (shared.contracts.meetings.TYPES, nested rows included; a test walks the
models so that a new field cannot go without its name)."""
CODE_KEYED = frozenset({"points"})
"""Data fields whose keys are codes (an assessment's item codes), not fields."""


def field_label(field: str | None) -> str:
    """The field in Vietnamese (`data.starts_at` → `thời gian buổi sinh hoạt`, `data.records.2.status` → `trạng thái
    (dòng 3 của danh sách điểm danh)`), or the path itself in quotes when it names no field of the contract."""
    if not field:
        return _("the event")
    if not field.startswith("data."):
        name = field.split(".")[0]
        return _(ENVELOPE[name]) if name in ENVELOPE else f"“{field}”"
    top, *rest = field.removeprefix("data.").split(".")
    if top not in DATA_FIELDS:
        return f"“{field}”"
    if rest and is_ascii_number(rest[0]):
        row = int(rest[0]) + 1
        if len(rest) > 1 and rest[1] in DATA_FIELDS:
            return _(
                "%(field)s (row %(row)s of %(list)s)", field=_(DATA_FIELDS[rest[1]]), row=row, list=_(DATA_FIELDS[top])
            )
        return _("%(list)s, row %(row)s", list=_(DATA_FIELDS[top]), row=row)
    if rest and rest[0] in DATA_FIELDS and top not in CODE_KEYED:
        return _("%(field)s of %(whole)s", field=_(DATA_FIELDS[rest[0]]), whole=_(DATA_FIELDS[top]))
    return _(DATA_FIELDS[top])


FIELD_SAID = N_("%(field)s: %(why)s")
"""A refusal said of its field, the field's name first as a sentence begins (`Thời gian buổi sinh hoạt: …`), as
the forms say theirs (`Ngày giờ: …`); a trial read `Trường thời gian buổi sinh hoạt: …` as awkward."""
UNNAMED_FIELD = N_("Item %(path)s")
"""A field the contract does not name (field_label gives its path in quotes), as a sentence begins with it."""


def as_heading(name: str) -> str:
    """A field's label as a sentence begins with it: its first letter in upper case (`thời gian buổi sinh hoạt` →
    `Thời gian buổi sinh hoạt`), a path in quotes (`“data.x”`) as UNNAMED_FIELD (`Mục “data.x”`)."""
    if name.startswith("“"):
        return _(UNNAMED_FIELD, path=name)
    return name[:1].upper() + name[1:]


def on_field(name: str, why: str, *, said: str = FIELD_SAID) -> str:
    """`why` said of the field `name` (`said`, by default `<Tên mục>: <lý do>`, the name as_heading) as it reads
    after the label (after_label); `why` alone when it already begins with the field's name (`Buổi sinh hoạt chưa
    diễn ra: …` is never `Buổi sinh hoạt: Buổi sinh hoạt …`)."""
    if name and why.casefold().startswith(name.casefold()):
        return why
    return _(said, field=as_heading(name), why=after_label(why))


def after_label(why: str) -> str:
    """A sentence as it continues a field's label and its colon: its first letter in lower case (an acronym's
    kept), and a colon in its first sentence said as a semicolon, so no line carries two colons (`Ngày giờ: thời
    điểm này đã qua; buổi sinh hoạt …`, never `Ngày giờ: Thời điểm này đã qua: …`). A colon of a literal is kept:
    one inside code marks (`…`) or ending a token that holds another colon (`urn:chibo:`), see separator_colon."""
    first, stop, rest = why.partition(". ")
    at = separator_colon(first)
    if at is not None:
        first = first[:at] + ";" + first[at + 1 :]
    why = first + stop + rest
    if len(why) > 1 and why[0].isupper() and not why[1].isupper():
        why = why[0].lower() + why[1:]
    return why


def separator_colon(text: str) -> int | None:
    """The index of the first colon in `text` that separates two clauses (one followed by a space), or None. A
    colon inside code marks (an odd number of backticks before it) or ending a token that holds another colon
    (`urn:chibo:`, `http://…:`) belongs to a literal and is skipped; one not followed by a space never separates."""
    for at, char in enumerate(text):
        if char != ":" or text[at + 1 : at + 2] != " ":
            continue
        if text.count("`", 0, at) % 2:
            continue
        token = text[:at].rsplit(None, 1)[-1] if text[:at].strip() else ""
        if ":" in token:
            continue
        return at
    return None


MEMBER_STATUS = re.compile(r"^data\.status: Input should be 'official' or 'probationary'$")
"""A member.upserted.v1 whose `status` is none of CONTRACT.md's two (official|probationary), as meetings words it."""
MEMBER_STATUS_SAID = N_("Member status: only official (chính thức) or probationary (dự bị) is accepted.")
"""MEMBER_STATUS said to an operator: the field (a member's status, not a meeting's) and the values it takes."""


COUNTED = ("count", "most")
"""The named groups of a REJECTIONS pattern that hold a number said as the app says numbers (format_number: 10.000)."""
MEASURED = ("given", "maximum")
"""The named groups of a REJECTIONS pattern that hold a value and its bound, possibly with decimals (points: `2.5`),
said as the app says numbers (format_number: `2,5`); a group that is no number is said as written."""


def measured(text: str) -> str:
    """A number as a reason writes it (`9`, `2.5`, `1e+06`) said as the app says numbers (`9`, `2,5`, `1.000.000`);
    `text` itself when it is no finite number."""
    try:
        value = float(text)
    except ValueError:
        return text
    return format_number(value, digits=2) if math.isfinite(value) else text


PYTHON_TOO_LONG = re.compile(
    r"not valid JSON \(Exceeds the limit \((?P<most>[0-9]+) digits\) for integer string conversion"
    r"(?:: value has (?P<digits>[0-9]+) digits)?; use sys\.set_int_max_str_digits\(\) to increase the limit\)"
)
"""Python's refusal of an integer of too many digits, as rejections stored it before shared.reading said it in its
own words (number_too_long): `body: not valid JSON (Exceeds the limit (4300 digits) for integer string conversion:
value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit)`."""
VALUE_ERROR = re.compile(r"(^|: |; )Value error, ")
"""pydantic's prefix to a validator's own words, as rejections stored it before shared.envelope.validation_message
dropped it (`items.0.url: Value error, …`)."""


def technical_detail(reason: str | None) -> str:
    """A stored rejection's reason as meetings words it now, shown under "Technical detail": a row stored in older
    words (Python's integer conversion limit, pydantic's "Value error, ") said as a new one is (the stored row is
    kept as it was: nothing is lost, the API and `shared.ops` give it as stored); any other reason as stored."""
    text = reason or ""
    if "integer string conversion" in text:
        text = PYTHON_TOO_LONG.sub(
            lambda match: (
                digits_too_many(int(match["digits"]), int(match["most"]))
                if match["digits"]
                else f"number too long (more than {match['most']} digits)"
            ),
            text,
        )
    return VALUE_ERROR.sub(r"\1", text) if "Value error, " in text else text


def explain_rejection(reason: str | None, field: str | None, refusal: Mapping[str, Any] | None = None) -> str:
    """Why an event was rejected, in Vietnamese, naming the field: `Thời gian buổi sinh hoạt: ...`; by the
    rejection's code when meetings gave one (`refusal`: {"code", ...}), else by the reason's English wording, each
    field of a reason naming several (`specversion: …; data: …`, shared.envelope.describe_validation_error) said
    in turn."""
    code = (refusal or {}).get("code")
    if code in BY_CODE:
        return on_field(field_label(field), by_code(RefusalCode(code), reason or ""))
    text = reason or ""
    parts = EACH_FIELD.split(text)
    if len(parts) > 1:
        return " ".join(explain_rejection(part, _named_field(part) or field) for part in parts)
    if text.startswith(DROPPED):  # the operator's decision on the whole event, not something wrong with a field
        note = text.removeprefix(DROPPED).split(" (was waiting for ")[0]
        return _(DROPPED_SAID, note=note)
    if NO_CONTENT_TYPE.match(text):  # the message as a whole, not its first missing attribute (`specversion`)
        return _(NO_CONTENT_TYPE_SAID)
    if MEMBER_STATUS.search(text):  # the field and the values it takes, said whole ("giá trị không hợp lệ" was not)
        return _(MEMBER_STATUS_SAID)
    for pattern, message in REJECTIONS:
        if match := pattern.search(text):
            if message == MISSING:
                return missing_field(field)
            # a pattern's named groups are the values its sentence says (a length, a type, a routing key); `note`
            # without a group of its own is the operator's own note
            values = {name: value for name, value in month_unpadded(match.groupdict()).items() if value is not None}
            values = kinds_said(values)
            values.update({name: format_number(int(values[name]), digits=0) for name in COUNTED if name in values})
            values.update({name: measured(values[name]) for name in MEASURED if name in values})
            if is_ascii_number(values.get("limit", "")):  # a bound said as the app says numbers (100.000)
                values["limit"] = format_number(int(values["limit"]), digits=0)
            if "choices" in values:  # `'male' or 'female'` as “male”, “female”
                values["choices"] = ", ".join(f"“{choice}”" for choice in re.findall(r"'([^']*)'", values["choices"]))
            note = values.get("note") or text.removeprefix("dropped by an operator: ")
            values["note"] = note.split(" (was waiting for ")[0]
            sentence = _(message, **values) if "%(" in message else _(message)
            break
    else:
        sentence = _("The value is not valid.")
    return on_field(field_label(field), sentence)


NO_CONTENT_TYPE = re.compile(r"not a CloudEvent: .* but the content type is absent")
"""shared.bindings.neither_mode of a message with no content type and no attribute header: its field is the first
missing attribute, so it was said as `Thiếu phiên bản CloudEvents (specversion): …`, as if only that were wrong."""
NO_CONTENT_TYPE_SAID = N_(
    "The content type is missing and no ce- header was sent, so this is no CloudEvent: send the whole event as "
    "application/cloudevents+json (a batch as application/cloudevents-batch+json), or its attributes in ce- headers "
    "with its data as application/json."
)


DATABASE_CLOSED = r"^ObjectNotInPrerequisiteStateError\(.*not currently accepting connections|^CannotConnectNowError\("
"""A database that is up but accepts no connections (`ALTER DATABASE … ALLOW_CONNECTIONS false`, SQLSTATE 55000, or
starting up / shutting down, 57P03): asyncpg's error repr."""
DATABASE_CLOSED_SAID = N_(
    "The database is not accepting connections (closed to connections, starting or stopping); send it back once it "
    "accepts them again."
)
UNKNOWN_CAUSE = N_("The service could not handle this message for a reason not known here; see the technical detail.")
"""A dead letter's cause of no known kind: said as unknown, never left as English alone."""

DEAD_LETTER_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        # a handler that kept failing: the consumer writes the error's repr (shared.consuming, meetings' consumer)
        (
            r"^(DeadlockDetectedError|SerializationError|LockNotAvailableError)\(",
            N_("Two writes to the same data in the database collided; sending it back usually succeeds."),
        ),
        (
            r"^(UniqueViolationError|ForeignKeyViolationError|CheckViolationError|NotNullViolationError|"
            r"ExclusionViolationError)\(",
            N_("The database refused what the service wrote about this event: a fault in the service to report."),
        ),
        (
            r"^(ConnectionDoesNotExistError|ConnectionRefusedError|ConnectionResetError|ConnectionError|"
            r"InterfaceError|TooManyConnectionsError|AdminShutdownError|"
            r"PostgresConnectionError|ChannelInvalidStateError|AMQPConnectionError)\(",
            N_("The service lost its connection to the database or the broker; send it back once they are up."),
        ),
        (DATABASE_CLOSED, DATABASE_CLOSED_SAID),
        (
            r"^(TimeoutError|QueryCanceledError|CancelledError)\(",
            N_("Applying the event took too long and was stopped; send it back when the system is less busy."),
        ),
        (
            r"^LookupError\([\"']framework .* is adopted but not stored",
            N_("A scoring framework is adopted but its document is not stored, so the meeting cannot be scored."),
        ),
        (
            r"^(ValueError|TypeError)\(.*(JSON|float)",
            N_("The event holds a value that cannot be written as JSON, such as a number that is not finite."),
        ),
    )
)
"""The causes a consumer writes in a dead letter's `x-chibo-reason` (shared.consuming) that are no event refusal:
a handler's failure, as the repr of its error, by the error's kind. A cause that is an event refusal (the event could
not be read: shared.envelope's and shared.reading's reasons, naming a field) is said by REJECTIONS, as a rejection
is; any other cause has no gloss and is shown as written."""
EACH_FIELD = re.compile(r"; (?=(?:" + "|".join(sorted(ENVELOPE, key=len, reverse=True)) + r")(?:\.[A-Za-z0-9_]+)*: )")
"""Where a reason naming several fields of an event passes to the next (`specversion: …; data: …`): a `; ` followed
by a field of the event and its colon (shared.envelope.describe_validation_error joins them so)."""


def _named_field(part: str) -> str | None:
    """The field one part of a reason names first (`data: …` → `data`), None when it names none."""
    named = DEAD_LETTER_FIELD.match(part)
    return named["field"] if named else None


DEAD_LETTER_FIELD = re.compile(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*): ")
"""How an event refusal names its field first (`data.starts_at: ...`, `body: ...`)."""


PUBLISHER_REFUSED = re.compile(
    r"^user_id: (?:broker user (?P<q>['\"])(?P<user>.*?)(?P=q)|a message without user_id) may not publish"
    r" (?P<type>\S+), which only (?P<owner>\S+) publishes \(as (?P<allowed>.*)\); not applied$"
)
"""A consumer's refusal of an owned event type from a broker user not its owner's (shared.consuming.
publisher_refusal): who published it, the type, the owning service and its users."""
PUBLISHER_REFUSED_SAID = N_(
    "The event %(type)s was published to the broker by the account “%(user)s”, but only the %(owner)s service (as "
    "%(allowed)s) may publish this type, so it was not applied. Sending it back does not help: it is judged again by "
    "who first published it. If the fact is genuine, have %(owner)s publish it; if not, delete this letter and find "
    "out who published as “%(user)s”."
)
PUBLISHER_UNNAMED_SAID = N_(
    "The event %(type)s was published to the broker without naming its account (no user_id), but only the "
    "%(owner)s service (as %(allowed)s) may publish this type, so it was not applied. Sending it back does not help: "
    "it is judged again by who first published it. If the fact is genuine, have %(owner)s publish it; if not, delete "
    "this letter and find out which system publishes without user_id."
)
NO_ACCOUNT = N_("no account")
CONTRADICTION = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_.]*): .* is (?P<held>.*) here, the event says (?P<sent>.*); (?P<rule>.* never"
    r" changes .*)$"
)
"""A consumer's refusal of a fact contradicting what it holds (shared.consuming.check_unchanged: a meeting's cell, a
unit's kind), naming the field, the value held and the value sent."""
CONTRADICTION_SAID = N_(
    "the event says %(sent)s, but the service holds %(held)s, and this never changes, so the event was not applied. "
    "If the event is wrong, delete this letter; if what the service holds is wrong, correct it at its source first, "
    "then send the letter back."
)


def _quoted(users: str) -> str:
    """`'a', 'b'` (publisher_refusal's list of broker users) as “a”, “b”; `no user` as NO_ACCOUNT."""
    names = re.findall(r"'([^']*)'", users)
    return ", ".join(f"“{name}”" for name in names) if names else _(NO_ACCOUNT)


def _quoted_value(value: str) -> str:
    """A value as check_unchanged writes it (its repr: `'demo-cb-thon-2'`) in Vietnamese quotes."""
    return f"“{value[1:-1]}”" if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else f"“{value}”"


def explain_dead_letter(cause: str | None) -> str | None:
    """A short Vietnamese gloss of a dead letter's cause (its `x-chibo-reason`) for the operator, beside the raw text:
    a publisher refused (PUBLISHER_REFUSED) or a fact contradicting what the service holds (CONTRADICTION) said with
    what to do, a handler's failure by its error's kind (DEAD_LETTER_CAUSES), an event that could not be read as a
    rejection is said, naming the field; UNKNOWN_CAUSE for a cause of no known kind; None when there is no cause."""
    if not cause:
        return None
    if refused := PUBLISHER_REFUSED.match(cause):
        values = {"type": refused["type"], "owner": refused["owner"], "allowed": _quoted(refused["allowed"])}
        if refused["user"] is None:
            return _(PUBLISHER_UNNAMED_SAID, **values)
        return _(PUBLISHER_REFUSED_SAID, user=refused["user"], **values)
    if contradiction := CONTRADICTION.match(cause):
        said = _(
            CONTRADICTION_SAID, held=_quoted_value(contradiction["held"]), sent=_quoted_value(contradiction["sent"])
        )
        return on_field(field_label(contradiction["field"]), said)
    for pattern, message in DEAD_LETTER_CAUSES:
        if pattern.search(cause):
            return _(message)
    named = DEAD_LETTER_FIELD.match(cause)
    if named is None or field_label(named["field"]).startswith("“"):
        return _(UNKNOWN_CAUSE)
    return _("The event could not be read. %(why)s", why=explain_rejection(cause, named["field"]))


PARKED_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        # the broker closing the channel (AMQP channel.close): aiormq's error by its reply code, as its repr writes it
        # (`<ChannelAccessRefused: …>`) or inside the exchange's refused declare (`UnusableExchange("exchange …")`)
        (
            r"ChannelAccessRefused|ACCESS_REFUSED",
            N_(
                "The broker refused the service's account the right to send to this exchange (ACCESS_REFUSED, "
                "reply code 403); give the account write permission on the exchange, then send the row again."
            ),
        ),
        (
            r"^UnusableExchange\(",
            N_(
                "The exchange this row is sent to does not exist or may not be used, so sending it fails every "
                "time; set up the exchange (or check the destination), then send it again."
            ),
        ),
        (
            r"^<?ChannelNotFoundEntity\b|NOT_FOUND - ",
            N_(
                "The broker has no exchange by this row's name (NOT_FOUND, reply code 404), so sending it fails; "
                "set up the exchange (or check the destination), then send the row again."
            ),
        ),
        (
            r"^<?ChannelPreconditionFailed\b|PRECONDITION_FAILED",
            N_(
                "The broker refused the message because a condition it sets does not hold (PRECONDITION_FAILED, "
                "reply code 406), such as a message larger than the broker allows; see the technical detail, "
                "correct the cause, then send the row again."
            ),
        ),
        (
            DATABASE_CLOSED,
            N_(
                "The database is not accepting connections (closed to connections, starting or stopping), so "
                "the row could not be sent; send it again once it accepts them."
            ),
        ),
        (
            r"^<?(ConnectionDoesNotExistError|ConnectionRefusedError|ConnectionResetError|ConnectionError|OSError|"
            r"InterfaceError|TooManyConnectionsError|AdminShutdownError|PostgresConnectionError|"
            r"ChannelInvalidStateError|AMQPConnectionError|ConnectionClosed|ChannelClosed)(\(|: )",
            N_(
                "The database or the broker could not be reached each time the row was tried; send it again once "
                "they are up."
            ),
        ),
        (
            r"^<?(TimeoutError|CancelledError|DeliveryError|PublishError)(\(|: )",
            N_("Sending took too long or was not confirmed each time; send it again when the system is less busy."),
        ),
        (
            r"^(ValueError|TypeError|UnicodeEncodeError|error)\(",
            N_("The event holds a value that cannot be put in a message: a fault in the service to report."),
        ),
    )
)
"""The reasons the outbox relay parks a row with (shared.outbox `_defer_or_park`: the repr of the publish error), by
the error's kind: a permanent one (PERMANENT_ERRORS) at once, any other after the relay's last attempt. aiormq writes
its errors' repr as `<Name: …>`, Python's as `Name(…)`: both are matched. The channel-close reply codes a publish
meets each have their line: 403 ACCESS_REFUSED, 404 NOT_FOUND, 406 PRECONDITION_FAILED."""
UNKNOWN_PARKED = N_("Sending this row failed for a reason not known here; see the technical detail.")


def explain_parked(reason: str | None) -> str | None:
    """A short Vietnamese line on why an outbox row was parked (its `parked_reason`, an error's repr) beside the raw
    text: by the error's kind (PARKED_CAUSES), UNKNOWN_PARKED for any other; None when the row gives no reason."""
    if not reason:
        return None
    for pattern, message in PARKED_CAUSES:
        if pattern.search(reason):
            return _(message)
    return _(UNKNOWN_PARKED)


def explain_hold(waiting_for: str | None, reason: str | None, field: str | None) -> str:
    """What a held event waits for, in Vietnamese, naming the field it came from."""
    kind, _colon, ident = (waiting_for or "").partition(":")
    message = WAITING_FOR.get(kind)
    if reason and OUTSIDE_SCOPE.search(reason):
        # held as if unknown so the sender cannot probe the tree; the operator is told the real reason
        sentence = _(OUTSIDE_SCOPE_SAID)
    else:
        sentence = _(message, id=ident) if message else _("It refers to data not known yet.")
    return on_field(field_label(field), sentence)
