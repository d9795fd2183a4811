"""Vietnamese texts of every alert, from string templates; dates in Vietnamese format."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from string import Template
from typing import Any
from urllib.parse import quote

from services.notifications.domain import settings as r
from services.notifications.domain.model import COMMITTEE, Alert, Recipient
from shared.numbers import format_number
from shared.periods import local
from shared.text import has_text, keeping_isolates, mail_name, said_or_blank, without_controls

WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
MEETING_KINDS = {
    "regular": "sinh hoạt thường kỳ",
    "thematic": "sinh hoạt chuyên đề",
    "combined": "sinh hoạt thường kỳ kết hợp chuyên đề",
    "extraordinary": "sinh hoạt bất thường",
}
RATINGS = {"good": "Tốt", "fair": "Khá", "average": "Trung bình", "poor": "Kém"}
QUARTERS = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def format_when(moment: datetime) -> str:
    """ "19:30 thứ Ba, ngày 03/11/2026" in Vietnam's local time."""
    value = local(moment)
    return f"{value:%H:%M} {WEEKDAYS[value.weekday()]}, ngày {value:%d/%m/%Y}"


def format_date(day: date) -> str:
    """ "ngày 03/11/2026"."""
    return f"ngày {day:%d/%m/%Y}"


def meeting_day_part(starts_at: datetime | None) -> str:
    """The ending of every alert Subject about one meeting, its date in Vietnam's local time: " — buổi sinh hoạt ngày
    04/11/2026" ("" for a start not known). It tells the cell's meetings apart (two alerts of one cell read alike)
    without the hour and weekday, which at the end of a Subject read as a time the mail itself was about; the
    notices telling a whole cell when to come (COLLECTIVE_RULES) name the hour in their own words."""
    return f" — buổi sinh hoạt {format_date(local(starts_at).date())}" if starts_at is not None else ""


def format_period(period: str) -> str:
    """ "tháng 11/2026" ("tháng 2/2026": a month unpadded, as the web app's i18n.format_period writes it), "quý
    IV/2026" or "năm 2026"."""
    if "-Q" in period:
        return f"quý {QUARTERS[period[-1]]}/{period[:4]}"
    if "-" in period:
        return f"tháng {int(period[5:7])}/{period[:4]}"
    return f"năm {period}"


NAMED = frozenset({"cell", "member", "monitor", "committee"})
"""The values of an alert that are names of units or people (shared.text.mail_name: on one line, nothing steering
the text after them, a right-to-left one between isolates)."""

_MEETING_LINE = "$meeting_kind$topic_part của $cell vào lúc $when tại $location"

TEMPLATES: dict[str, tuple[str, str]] = {
    r.MEETING_SCHEDULED: (
        "Thông báo lịch sinh hoạt: $cell, $when",
        "$greeting\n\nXin thông báo buổi " + _MEETING_LINE + ".\n\n$content_text\n\n"
        "Đề nghị các đồng chí sắp xếp thời gian tham dự đầy đủ, đúng giờ; đồng chí nào không thể tham dự "
        "thì báo cáo lý do với đồng chí bí thư chi bộ trước buổi sinh hoạt.",
    ),
    r.MEETING_RESCHEDULED: (
        "$change_title",
        "$greeting\n\n$change_text$reason_line\n\nĐề nghị các đồng chí lưu ý $change_noted và tham dự đầy đủ.",
    ),
    r.MEETING_CANCELLED: (
        "Hủy buổi sinh hoạt: $cell, $when",
        "$greeting\n\nBuổi $meeting_kind$topic_part của $cell dự kiến lúc $when tại $location đã bị hủy."
        "\nLý do: $reason.\n\nCác đồng chí vui lòng chờ thông báo lịch sinh hoạt mới của chi bộ.",
    ),
    r.MEETING_CANCEL_UPDATED: (
        "Cập nhật lý do hủy buổi sinh hoạt: $cell, $when",
        "$greeting\n\nBuổi $meeting_kind$topic_part của $cell dự kiến lúc $when tại $location đã bị hủy như đã "
        "thông báo. Lý do hủy nay được cập nhật như sau.\nLý do: $reason.\n\n"
        "Các đồng chí vui lòng chờ thông báo lịch sinh hoạt mới của chi bộ.",
    ),
    r.DOCUMENTS_MISSING: (
        "Chưa đăng tải tài liệu sinh hoạt: $cell$meeting_day_part",
        "$greeting\n\nĐến nay chưa có nội dung hoặc dự thảo nghị quyết nào được đăng tải cho buổi "
        + _MEETING_LINE
        + ".\n\nĐề nghị đồng chí đăng tải tài liệu cho đảng viên ngay, để đảm bảo tài liệu "
        "đến tay đảng viên ít nhất 24 giờ trước buổi sinh hoạt.",
    ),
    r.MEETING_REMINDER: (
        "Nhắc lịch sinh hoạt: $cell, $when",
        "$greeting\n\nXin nhắc các đồng chí buổi " + _MEETING_LINE + ".\n\n"
        "Đề nghị các đồng chí đến đúng giờ và đọc trước tài liệu của buổi sinh hoạt.",
    ),
    r.MINUTES_LATE: (
        "Chưa hoàn thiện biên bản, nghị quyết: $cell$meeting_day_part",
        "$greeting\n\nĐã quá $days ngày kể từ buổi " + _MEETING_LINE + " mà chi bộ $missing_text."
        "\n\nĐề nghị đồng chí hoàn thiện ngay.",
    ),
    r.MINUTES_LATE_SUPERIOR: (
        "Chi bộ chậm hoàn thiện biên bản, nghị quyết: $cell$meeting_day_part",
        "$greeting\n\nĐã quá $days ngày kể từ buổi $meeting_kind$topic_part lúc $when mà $cell $missing_text."
        "\n\nĐề nghị cấp ủy đôn đốc chi bộ hoàn thiện hồ sơ buổi sinh hoạt.",
    ),
    r.NO_REGULAR_MEETING: (
        "Chưa sinh hoạt thường kỳ $month_label: $cell",
        "$greeting\n\nĐến ngày $day $month_label, $cell chưa tổ chức buổi sinh hoạt thường kỳ nào.\n\n"
        "Đề nghị đồng chí khẩn trương tổ chức sinh hoạt thường kỳ trước khi hết tháng.",
    ),
    r.MONTH_WITHOUT_MEETING: (
        "Chi bộ không sinh hoạt thường kỳ $month_label: $cell",
        "$greeting\n\n$cell đã kết thúc $month_label mà không tổ chức buổi sinh hoạt thường kỳ nào.\n\n"
        "Đề nghị cấp ủy kiểm tra, nhắc nhở chi bộ và xem xét khi đánh giá chất lượng sinh hoạt.",
    ),
    r.QUARTER_WITHOUT_THEMATIC: (
        "Chưa sinh hoạt chuyên đề $quarter_label: $cell",
        "$greeting\n\nĐã đến tháng cuối của $quarter_label mà $cell chưa tổ chức hoặc lên lịch "
        "buổi sinh hoạt chuyên đề nào.\n\nĐề nghị chi bộ xây dựng chuyên đề và tổ chức sinh hoạt trong tháng này.",
    ),
    r.UNEXCUSED_ABSENCE: (
        "$absence_title",
        "$greeting\n\n$absence_text trong buổi " + _MEETING_LINE + ".$absence_list\n\n$absence_ask",
    ),
    r.ABSENCE_CORRECTED: (
        "$corrected_title",
        "$greeting\n\nTheo danh sách điểm danh được chi bộ sửa lại, $corrected_text trong buổi " + _MEETING_LINE + "."
        "$absence_list\n\n$corrected_close",
    ),
    r.CROSSING_CORRECTED: (
        "$crossing_corrected_title",
        "$greeting\n\nTheo số liệu điểm danh được chi bộ sửa lại, $crossing_corrected_text$crossing_corrected_list\n\n"
        "$crossing_corrected_close",
    ),
    r.CONSECUTIVE_ABSENCES: (
        "$run_title",
        "$greeting\n\n$run_text$run_list\n\nĐề nghị chi ủy và cấp ủy cấp trên làm rõ nguyên nhân và có biện pháp "
        "xử lý theo Điều lệ Đảng. "
        "Hệ thống chỉ thông báo một lần cho mỗi đợt vắng liên tiếp.",
    ),
    r.UNEXCUSED_MONTHS: (
        "$months_title",
        "$greeting\n\n$months_text$months_list\n\nĐề nghị chi bộ và cấp ủy cấp trên xem xét, xử lý theo quy định.",
    ),
    r.MEETING_RATED_LOW: (
        "Chất lượng sinh hoạt xếp loại $rating_label: $cell$meeting_day_part",
        "$greeting\n\nBuổi $meeting_kind$topic_part của $cell lúc $when được đánh giá $score_text điểm, "
        "xếp loại $rating_label.\n\nĐề nghị cấp ủy theo dõi, hướng dẫn chi bộ nâng cao chất lượng sinh hoạt.",
    ),
    r.PERIOD_RATED_LOW: (
        "Chất lượng sinh hoạt $period_text xếp loại $rating_label: $cell",
        "$greeting\n\nChất lượng sinh hoạt $period_text của $cell đạt $score_text điểm, xếp loại $rating_label."
        "\n\nĐề nghị cấp ủy kiểm tra, chỉ đạo chi bộ khắc phục.",
    ),
    r.PROBATION_ENDING: (
        "Sắp hết thời gian dự bị: $member, $cell",
        "$greeting\n\nĐồng chí $member ($cell) hết thời gian dự bị vào $ends_on_text.\n\n"
        "Đề nghị chi bộ họp, xét và biểu quyết công nhận đảng viên chính thức, hoàn thiện hồ sơ "
        "trình cấp ủy cấp trên.",
    ),
    r.CELL_WITHOUT_COMMITTEE: (
        "Chi bộ có $count đảng viên chính thức chưa có chi ủy: $cell",
        "$greeting\n\n$cell có $count đảng viên chính thức nhưng chưa bầu chi ủy.\n\n"
        "Theo Điều lệ Đảng, chi bộ có từ 9 đảng viên chính thức trở lên phải bầu chi ủy; "
        "đề nghị chi bộ và cấp ủy cấp trên tiến hành bầu chi ủy.",
    ),
    r.MONITOR_BEHIND_QUOTA: (
        "Chưa đủ số buổi dự sinh hoạt: $monitor, $cell",
        "$greeting\n\nĐồng chí $monitor mới dự $attended buổi sinh hoạt của $cell trong năm, "
        "ít hơn mức $expected buổi cần đạt đến nay (chỉ tiêu $quota buổi/năm).\n\n"
        "Đề nghị đồng chí bố trí dự sinh hoạt với chi bộ trong thời gian tới.",
    ),
}

MONITOR_BODIES: dict[str, str] = {
    r.MEETING_SCHEDULED: "$greeting\n\nXin thông báo tới $you buổi " + _MEETING_LINE + ".\n\n$content_text\n\n"
    "Kính mời $you sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt của chi bộ.",
    r.MEETING_RESCHEDULED: "$greeting\n\n$change_text$reason_line\n\n"
    "Kính mời $you lưu ý $change_noted để sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt.",
    r.MEETING_CANCELLED: "$greeting\n\nBuổi $meeting_kind$topic_part của $cell dự kiến lúc $when tại $location "
    "đã bị hủy.\nLý do: $reason.\n\nKhi chi bộ có lịch sinh hoạt mới, hệ thống sẽ thông báo tới $you.",
    r.MEETING_CANCEL_UPDATED: "$greeting\n\nBuổi $meeting_kind$topic_part của $cell dự kiến lúc $when tại $location đã "
    "bị hủy như đã thông báo. Lý do hủy nay được cập nhật như sau.\nLý do: $reason.\n\n"
    "Khi chi bộ có lịch sinh hoạt mới, hệ thống sẽ thông báo tới $you.",
    r.MEETING_REMINDER: "$greeting\n\nXin nhắc $you buổi " + _MEETING_LINE + ".\n\n"
    "Kính mời $you dự và chỉ đạo buổi sinh hoạt của chi bộ.",
}
"""The body of a whole cell's notice (COLLECTIVE_RULES) to one of its upper-level monitors, in their own mail: they
are not summoned as its members are (the members' text asks "các đồng chí" to attend in full and to report an
absence to the cell secretary) but notified, attending some of its meetings (DOMAIN.md "Upper-level committee
members"), so it asks them to attend and direct the meeting; its title is the members' one. `$you` is how it
addresses its readers (YOU_ONE, or YOU_MANY in a mail greeting several: `for_many`)."""

YOU_ONE, YOU_MANY = "đồng chí", "các đồng chí"
"""How a monitor's text addresses its reader, and the readers of one mail greeting several (monitors sharing a
mailbox, handlers.alerts.one_mail_per_address)."""


def _openings() -> tuple[tuple[str, str], ...]:
    """Each line opening of MONITOR_BODIES up to its `$you`, (as one reader reads it, as several do): fixed text of
    the templates, never a value (a reason or place saying "đồng chí" is left as written)."""
    found: dict[str, str] = {}
    for body in MONITOR_BODIES.values():
        for line in body.split("\n"):
            if "$you" in line:
                opening = line[: line.index("$you")]
                assert "$" not in opening, opening  # a value before $you would make the opening vary
                found[opening + YOU_ONE] = opening + YOU_MANY
    return tuple(found.items())


_YOU_OPENINGS = _openings()


def for_many(body: str) -> str:
    """A monitor's text (MONITOR_BODIES, as rendered for one reader) worded for the several readers one mail greets:
    "Kính mời đồng chí dự …" -> "Kính mời các đồng chí dự …"; any other text as it is."""
    lines = body.split("\n")
    for index, line in enumerate(lines):
        for one, many in _YOU_OPENINGS:
            if line.startswith(one) and not line[len(one) : len(one) + 1].isalnum():
                lines[index] = many + line[len(one) :]
                break
    return "\n".join(lines)


DIGEST_TITLE = "Tổng hợp cảnh báo $day_text: $count nội dung"
DIGEST_CLOSE = "Chi tiết xem trong hộp thư của hệ thống."
"""The digest's last line; with the deployment's public address known, the mail names the page instead (with_page)."""
DIGEST_BODY = "$greeting\n\nTrong $day_text có $what:\n\n$items\n\n" + DIGEST_CLOSE


COLLECTIVE_RULES = frozenset(
    {r.MEETING_SCHEDULED, r.MEETING_RESCHEDULED, r.MEETING_CANCELLED, r.MEETING_CANCEL_UPDATED, r.MEETING_REMINDER}
)
"""Notices to a whole cell (every expected member and its monitors): one text for its members, addressed to them
together, so that one mail can carry it to all of them (channels.py sends identical mails as one SMTP transaction);
each monitor's is their own (`addressed_alone`, MONITOR_BODIES)."""


def collective_greeting(values: dict[str, Any]) -> str:
    """ "Kính gửi các đồng chí đảng viên Chi bộ X,": the members' shared text of a whole cell's notice (its monitors
    have their own mail, so it no longer greets "… và đồng chí cấp ủy viên phụ trách chi bộ")."""
    return f"{COLLECTIVE_OPENING}{mail_name(str(values.get('cell') or '')) or 'chi bộ'},"


COLLECTIVE_OPENING = "Kính gửi các đồng chí đảng viên "
"""How the members' shared text of a whole cell's notice opens (`collective_greeting`)."""


def greeting(recipient: Recipient) -> str:
    """ "Kính gửi đồng chí X" for a person, "Kính gửi X" for a committee."""
    if recipient.kind == COMMITTEE:
        return f"Kính gửi {mail_name(recipient.name)},"
    return f"Kính gửi đồng chí {mail_name(recipient.name)},"


NAMED_AT_MOST = 4
"""Recipients one mail to a shared mailbox greets by name at most; more are greeted together ("Kính gửi các đồng
chí,"), a line of names being no greeting."""


def listed(parts: Sequence[str]) -> str:
    """`A`, `A và B`, `A, B và C`: the parts as a Vietnamese list joins them (the last two by "và")."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " và " + parts[-1]


def greeting_of_many(recipients: Sequence[Recipient]) -> str:
    """The greeting of one mail serving several recipients at one address (members sharing a mailbox), in their
    order: "Kính gửi các đồng chí Nguyễn Văn A và Trần Thị B," ("A, B và C" for three or more; committees by their
    names first, the members after one "và": "Kính gửi Đảng ủy xã X và các đồng chí Nguyễn Văn A, Trần Thị B,");
    "Kính gửi các đồng chí," for more than NAMED_AT_MOST; one recipient, their own `greeting`."""
    if len(recipients) == 1:
        return greeting(recipients[0])
    if len(recipients) > NAMED_AT_MOST:
        return "Kính gửi các đồng chí,"
    committees = [mail_name(recipient.name) for recipient in recipients if recipient.kind == COMMITTEE]
    people = [mail_name(recipient.name) for recipient in recipients if recipient.kind != COMMITTEE]
    parts = [*committees]
    if people:
        # one "và" per greeting: after committees it parts them from the members, who are then listed by commas
        names = ", ".join(people) if committees else listed(people)
        parts.append(("đồng chí " if len(people) == 1 else "các đồng chí ") + names)
    return f"Kính gửi {listed(parts)},"


def with_greeting(body: str, greeting_line: str | None) -> str:
    """The body with its greeting (its first line: every template opens with it) replaced by `greeting_line`, the
    greeting of a mail serving several readers, and worded for them (`for_many`); the body as it is when that is
    None."""
    if greeting_line is None:
        return body
    _, newline, rest = body.partition("\n")
    return greeting_line + newline + for_many(rest)


MISSING_RECORDS = {
    "minutes_submitted": "chưa nộp biên bản",
    "minutes": "chưa đăng tải biên bản",
    "resolution": "chưa đăng tải nghị quyết",
}
"""What a meeting's records lack (rules.missing_records), as the alert says it."""


def missing_text(missing: Any) -> str:
    """`chưa nộp biên bản, chưa đăng tải biên bản và chưa đăng tải nghị quyết`: the parts, joined as Vietnamese
    lists."""
    parts = [MISSING_RECORDS.get(str(code), str(code)) for code in missing or ()]
    if not parts:
        return "chưa hoàn thiện biên bản, nghị quyết"
    return listed(parts)


AGENDA_ITEMS_SHOWN = 5
"""Agenda items a meeting notice lists at most; the rest are counted ("và 3 nội dung khác")."""
AGENDA_ITEM_CHARS = 200
"""Characters of one agenda item a notice shows at most (a longer one is cut at a word and ends with "…")."""


def shorten(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters: cut at the last space that fits, ending with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:.") + "…"


def content_text(values: dict[str, Any]) -> str:
    """What a meeting notice says of the content: the agenda as the schedule carries it (at most AGENDA_ITEMS_SHOWN
    items, then how many more), else for a regular meeting that it is the cell's regular monthly meeting, else that
    the cell will send the content."""
    agenda = [str(item) for item in values.get("agenda") or () if has_text(str(item))]
    if agenda:
        shown = [f"- {shorten(item, AGENDA_ITEM_CHARS)}" for item in agenda[:AGENDA_ITEMS_SHOWN]]
        rest = len(agenda) - len(shown)
        if rest:
            shown.append(f"- và {format_number(rest, digits=0)} nội dung khác.")
        return "Nội dung sinh hoạt:\n" + "\n".join(shown)
    if values.get("meeting_kind") == "regular":
        return "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ theo quy định."
    if values.get("meeting_kind") == "combined":
        return "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ, kết hợp sinh hoạt chuyên đề nêu trên."
    if values.get("topic"):
        return "Nội dung: theo chuyên đề nêu trên."
    return "Nội dung sinh hoạt sẽ được chi bộ thông báo cụ thể."


def change_texts(values: dict[str, Any], text: dict[str, str]) -> dict[str, str]:
    """What a change notice (meeting_rescheduled) says changed, from the meeting now and what it replaced
    (`previous_starts_at`, `previous_location`, `previous_kind`, `previous_topic`, when known): its title, its
    sentence and what members should note. A start not known before reads as a move, as a move event says."""
    starts_at, previous = values.get("starts_at"), values.get("previous_starts_at")
    moved = not isinstance(previous, datetime) or previous != starts_at
    old_place = str(values.get("previous_location") or "")
    relocated = bool(old_place) and old_place != text["location"]
    kind = f"{text['meeting_kind']}{text['topic_part']}"
    meeting = f"{kind} của {text.get('cell', '')}"
    if moved:
        before = text["previous_part"] + (f" tại {old_place}" if relocated and text["previous_part"] else "")
        return {
            "change_title": f"Thay đổi lịch sinh hoạt: {text.get('cell', '')}, chuyển sang {text['when']}",
            "change_text": f"Buổi {meeting}{before} được chuyển sang lúc {text['when']} tại {text['location']}.",
            "change_noted": "thời gian, địa điểm mới" if relocated else "lịch mới",
        }
    if relocated:
        return {
            "change_title": f"Thay đổi địa điểm sinh hoạt: {text.get('cell', '')}, {text['when']}",
            "change_text": f"Buổi {meeting} lúc {text['when']} được chuyển địa điểm từ {old_place} "
            f"sang {text['location']}.",
            "change_noted": "địa điểm mới",
        }
    return {
        "change_title": f"Thay đổi buổi sinh hoạt: {text.get('cell', '')}, {text['when']}",
        "change_text": f"Buổi sinh hoạt của {text.get('cell', '')} lúc {text['when']} tại {text['location']} "
        f"được điều chỉnh thành buổi {kind}.",
        "change_noted": "nội dung mới",
    }


ABSENTEES_INLINE = 5
"""Unexcused absentees one alert names in its sentence at most; more are listed one a line."""


def comrades(names: Sequence[str], *, many: str) -> str:
    """Members (already mail_name'd, at least one) as a sentence names them: "đồng chí A", "các đồng chí A, B và C" up
    to ABSENTEES_INLINE names, `many` past them."""
    if len(names) == 1:
        return f"đồng chí {names[0]}"
    if len(names) <= ABSENTEES_INLINE:
        return f"các đồng chí {listed(names)}"
    return many


def named_members(names: Sequence[str], *, added: bool, updated: str, where: str = "") -> str:
    """The subject of a sentence naming the members an alert tells of (already mail_name'd): "Đồng chí A", "Các
    đồng chí A, B và C" up to ABSENTEES_INLINE names, "Có 7 đồng chí" past them (the names then listed one a line),
    `where` after it; for members a later fact adds (`added`), led by what was `updated` ("Theo danh sách điểm danh
    được cập nhật, đồng chí A cũng")."""
    count = format_number(len(names), digits=0)
    named = comrades(names, many=f"có {count} đồng chí")
    sentence = named[0].upper() + named[1:]
    if not added:
        return sentence + where
    if len(names) > ABSENTEES_INLINE:
        return f"Theo {updated}, có thêm {count} đồng chí{where}"
    return f"Theo {updated}, {sentence[0].lower()}{sentence[1:]}{where} cũng"


def names_list(lines: Sequence[str]) -> str:
    """The members an alert names one a line, past ABSENTEES_INLINE of them ("" up to it)."""
    return ("\nDanh sách:\n" + "\n".join(f"- {line}" for line in lines)) if len(lines) > ABSENTEES_INLINE else ""


CROSSING_UNITS = {"run": "buổi", "months": "tháng"}
"""The texts' prefix of consecutive_absences ("run") and unexcused_months ("months"), and what each counts."""


def crossing_texts(values: dict[str, Any], text: dict[str, str]) -> dict[str, str]:
    """What an alert of members crossing an absence threshold at one meeting (rules.absence_crossing_alerts:
    `members`, `counts`, `threshold`, `added`; one stored with a single `member` and `count` reads as one member)
    says of them: run_title, run_text, run_list of consecutive_absences; months_title, months_text, months_list of
    unexcused_months. Each member's own count follows their name when their counts differ."""
    names = [mail_name(str(name)) for name in values.get("members") or [values.get("member") or ""]]
    counts = [format_number(int(count), digits=0) for count in values.get("counts") or [values.get("count") or 0]]
    added, one, same = bool(values.get("added")), len(names) == 1, len(set(counts)) == 1
    cell, threshold = text.get("cell", ""), format_number(int(values.get("threshold") or 0), digits=0)
    how_many = format_number(len(names), digits=0)
    where = f" ({cell})" if one else f" thuộc {cell}"
    texts: dict[str, str] = {}
    for prefix, unit in CROSSING_UNITS.items():
        pairs = list(zip(names, counts, strict=True))
        inline = names if same else [f"{name} ({count} {unit})" for name, count in pairs]
        texts[f"{prefix}_who"] = named_members(
            inline, added=added, updated="số liệu điểm danh được cập nhật", where=where
        )
        texts[f"{prefix}_list"] = names_list([f"{name}: {count} {unit}" for name, count in pairs])
    if one:
        run_title = f"Đảng viên vắng {counts[0]} buổi liên tiếp: {names[0]}, {cell}"
        months_title = f"Đảng viên vắng không lý do {counts[0]} tháng trong năm: {names[0]}, {cell}"
    else:
        run_title = f"{how_many} đảng viên vắng quá {threshold} buổi liên tiếp: {cell}"
        months_title = f"{how_many} đảng viên vắng không lý do từ {threshold} tháng trở lên trong năm: {cell}"
    if added:
        run_title, months_title = ("Bổ sung " + title[0].lower() + title[1:] for title in (run_title, months_title))
    run_count = (
        f"{counts[0]} buổi sinh hoạt liên tiếp (quá {threshold} buổi)"
        if same
        else f"quá {threshold} buổi sinh hoạt liên tiếp"
    )
    months_count = f"trong {counts[0]} tháng của 12 tháng qua" if same else "nhiều tháng trong 12 tháng qua"
    texts["run_title"], texts["months_title"] = run_title, months_title
    months = values.get("corrected_rule") == r.UNEXCUSED_MONTHS
    case = (
        f"vắng sinh hoạt không có lý do chính đáng từ {threshold} tháng trở lên trong 12 tháng qua"
        if months
        else f"vắng mặt quá {threshold} buổi sinh hoạt liên tiếp"
    )
    who = names[0] if one else f"{how_many} đảng viên"
    what = "vắng không lý do nhiều tháng" if months else "vắng nhiều buổi liên tiếp"
    texts["crossing_corrected_title"] = f"Đính chính thông báo {what}: {who}, {cell}"
    sentence = named_members(names, added=False, updated="", where=where)
    texts["crossing_corrected_text"] = f"{sentence[0].lower()}{sentence[1:]} nay không còn trong trường hợp {case}."
    texts["crossing_corrected_close"] = correction_close("", names, values.get("remaining") or ())
    texts["crossing_corrected_list"] = names_list(names)
    texts["run_text"] = f"{texts['run_who']} đã vắng mặt {run_count}."
    texts["months_text"] = (
        f"{texts['months_who']} đã vắng sinh hoạt không có lý do chính đáng {months_count}, "
        + ("thuộc trường hợp" if one else "đều thuộc trường hợp")
        + " phải xem xét xóa tên khỏi danh sách đảng viên."
    )
    return texts


def absence_texts(values: dict[str, Any], text: dict[str, str]) -> dict[str, str]:
    """What an unexcused-absence alert (rules.unexcused_absences) says of its absentees (`absentees`, names; `added`:
    a corrected roster adds them to those told before): its title, its sentence, the list of names one a line when
    there are more than ABSENTEES_INLINE, and what it asks of the cell committee."""
    given = values.get("absentees") or ((values["member"],) if values.get("member") else ())
    names = [mail_name(str(name)) for name in given]
    added = bool(values.get("added"))
    count = format_number(len(names), digits=0)
    cell = text.get("cell", "")
    # the meeting's date (meeting_day_part), for one absentee or several alike: one member absent from several
    # meetings gets Subjects that differ
    if len(names) == 1:
        title = f"Đảng viên vắng mặt không lý do: {names[0]}, {cell}{text['meeting_day_part']}"
    else:
        title = f"{count} đảng viên vắng mặt không lý do: {cell}{text['meeting_day_part']}"
    if added:
        title = "Bổ sung " + title[0].lower() + title[1:]
    sentence = named_members(names, added=added, updated="danh sách điểm danh được cập nhật")
    return {
        "absence_title": title,
        "absence_text": f"{sentence} vắng mặt không có lý do",
        "absence_list": names_list(names),
        "absence_ask": "Đề nghị chi ủy gặp gỡ, nhắc nhở "
        + ("đảng viên" if len(names) == 1 else "từng đồng chí")
        + " và ghi nhận lý do.",
    }


def corrected_texts(values: dict[str, Any], text: dict[str, str]) -> dict[str, str]:
    """What the correction of an unexcused-absence alert (`absentees` a corrected roster no longer marks absent
    without reason) says of them: its title, its sentence and whom the earlier alert named wrongly."""
    given = values.get("absentees") or ((values["member"],) if values.get("member") else ())
    names = [mail_name(str(name)) for name in given]
    cell = text.get("cell", "")
    one = len(names) == 1
    who = names[0] if one else f"{format_number(len(names), digits=0)} đảng viên"
    sentence = named_members(names, added=False, updated="")
    return {
        "corrected_title": f"Đính chính thông báo vắng mặt không lý do: {who}, {cell}{text['meeting_day_part']}",
        "corrected_text": sentence[0].lower() + sentence[1:] + " không còn được ghi là vắng mặt không có lý do",
        "corrected_close": correction_close("vắng mặt không lý do ", names, values.get("remaining") or ()),
    }


def correction_close(what: str, names: Sequence[str], remaining: Sequence[str]) -> str:
    """The last paragraph of a correction: the earlier notice (of `what`, "" or ending in a space) about the members
    taken back (`names`, mail_name'd) no longer holds; when it still names others (`remaining`, the alert's names
    left), it holds for them and only the members taken back are named as struck from it."""
    one = len(names) == 1
    if not remaining:
        whom = "đồng chí này" if one else "các đồng chí này"
        return f"Thông báo {what}đã gửi trước đây về {whom} không còn đúng; đề nghị không căn cứ vào thông báo đó."
    rest = [mail_name(str(name)) for name in remaining]
    holds = comrades(rest, many=f"{format_number(len(rest), digits=0)} đồng chí còn lại")
    struck = comrades(names, many="các đồng chí nêu trên")
    return f"Thông báo {what}đã gửi trước đây vẫn đúng đối với {holds}; riêng {struck} được rút tên khỏi thông báo đó."


def _text_values(values: dict[str, Any]) -> dict[str, str]:
    text: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, datetime):
            text[key] = format_when(value)
        elif isinstance(value, date):
            text[key] = format_date(value)
        elif value is None:
            text[key] = ""
        elif key in NAMED:
            text[key] = mail_name(str(value))
        elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            # a figure as the reader reads it (shared.numbers): `1.234` days or members, `42,5` points
            text[key] = format_number(value)
        else:
            text[key] = without_controls(str(value))
    starts_at = values.get("starts_at")
    text["when"] = format_when(starts_at) if isinstance(starts_at, datetime) else "(chưa rõ thời gian)"
    text["meeting_day_part"] = meeting_day_part(starts_at if isinstance(starts_at, datetime) else None)
    text["meeting_kind"] = MEETING_KINDS.get(str(values.get("meeting_kind")), "sinh hoạt")
    topic = values.get("topic")
    if topic:
        thematic = values.get("meeting_kind") in ("thematic", "combined")
        text["topic_part"] = f" “{topic}”" if thematic else f" với nội dung “{topic}”"
    else:
        text["topic_part"] = ""
    text["location"] = str(values.get("location") or "(chưa rõ địa điểm)")
    text["reason"] = said_or_blank(str(values.get("reason") or "")) or "không nêu"
    given_reason = said_or_blank(str(values.get("reason") or ""))
    text["reason_line"] = f"\nLý do thay đổi: {given_reason.rstrip('.')}." if given_reason else ""
    previous = values.get("previous_starts_at")
    moved_from = isinstance(previous, datetime) and previous != starts_at
    text["previous_part"] = f" dự kiến lúc {format_when(previous)}" if moved_from and previous else ""
    text |= change_texts(values, text)
    text["content_text"] = content_text(values)
    if "month" in values:
        text["month_label"] = format_period(str(values["month"]))
    if "quarter" in values:
        text["quarter_label"] = format_period(str(values["quarter"]))
    if "period_label" in values:
        text["period_text"] = format_period(str(values["period_label"]))
    if "rating" in values:
        text["rating_label"] = RATINGS.get(str(values["rating"]), str(values["rating"]))
    if "score" in values:
        # the page's figure (shared.numbers, halves up): `81,1` for 81.05, `80` for 80.0, not a float's `81,0`
        text["score_text"] = format_number(float(values["score"]))
    text["missing_text"] = missing_text(values.get("missing"))
    if "absentees" in values or "member" in values:  # an alert stored with one `member` reads as one absentee
        text |= absence_texts(values, text) | corrected_texts(values, text)
    if "members" in values or "count" in values:  # consecutive_absences, unexcused_months (one stored `member`)
        text |= crossing_texts(values, text)
    if isinstance(values.get("ends_on"), date):
        text["ends_on_text"] = format_date(values["ends_on"])
    return text


def monitoring(alert: Alert, recipient: Recipient) -> bool:
    """Whether the alert is a whole cell's notice (COLLECTIVE_RULES) to one of the cell's upper-level monitors
    (`monitor_ids`), whose text is their own (MONITOR_BODIES)."""
    return alert.rule in COLLECTIVE_RULES and recipient.id in alert.values.get("monitor_ids", ())


MONITOR_PART = "monitor"
"""The part (`mail_part`) of a whole cell's notice that its upper-level monitors read: MONITOR_BODIES."""


def mail_part(alert: Alert, recipient: Recipient) -> str:
    """Which of an alert's texts the recipient's mail carries, apart from its greeting: MONITOR_PART for a monitor's own
    of a whole cell's notice (`monitoring`, MONITOR_BODIES), "" for the alert's one text to everyone else (the
    members' shared one, or one template greeting each by name). A mailbox holding recipients of both parts (a
    monitor who shares an address with a member) gets one mail of each, each greeting its own readers
    (handlers.alerts.one_mail_per_address): the members' notice asks them to attend in full and to report an absence
    to the cell secretary, the monitor's asks them to attend and direct the meeting, and neither stands for the
    other (DOMAIN.md "Alerts": every expected member and the upper-level monitor, each reached once)."""
    return MONITOR_PART if monitoring(alert, recipient) else ""


def addressed_alone(alert: Alert, recipient: Recipient) -> bool:
    """Whether the recipient's text greets them by name: every alert's but a notice to a whole cell's, and a whole
    cell's notice to one of its upper-level monitors too (`monitoring`), who is mailed as one person (a trial's
    monitor was greeted "các đồng chí đảng viên Chi bộ X và đồng chí cấp ủy viên phụ trách chi bộ" in their own
    mail, sent to them alone when they were assigned)."""
    return alert.rule not in COLLECTIVE_RULES or monitoring(alert, recipient)


def render(alert: Alert, recipient: Recipient) -> tuple[str, str]:
    """The (title, body) of one alert for one recipient: a monitor's of a whole cell's notice words it for them
    alone (MONITOR_BODIES; a trial's greeted them by name, then asked "các đồng chí" to report an absence to the
    cell secretary)."""
    if monitoring(alert, recipient):
        return _render(alert, greeting(recipient), body=MONITOR_BODIES[alert.rule])
    personal = greeting(recipient) if addressed_alone(alert, recipient) else collective_greeting(dict(alert.values))
    return _render(alert, personal)


def shared_text(alert: Alert) -> tuple[str, str] | None:
    """The (title, body) that `render` gives every member among the recipients of a notice to a whole cell, rendered
    once for all of them (raise_alerts rendered it again for each of a cell's members: ~5 % of notifications' busy
    samples in the latency preset; a monitor's is their own, `addressed_alone`); None for an alert whose text is
    personal."""
    if alert.rule not in COLLECTIVE_RULES:
        return None
    return _render(alert, collective_greeting(dict(alert.values)))


def _render(alert: Alert, greeting_line: str, *, body: str | None = None) -> tuple[str, str]:
    title, members_body = TEMPLATES[alert.rule]
    body = members_body if body is None else body
    values = _text_values(dict(alert.values)) | {"greeting": greeting_line, "you": YOU_ONE}
    return plain_mail(Template(title).safe_substitute(values), Template(body).safe_substitute(values))


def plain_mail(title: str, body: str) -> tuple[str, str]:
    """A mail's (title, body) without the characters that only steer or hide text (shared.text.without_controls),
    its title on one line: the last guard for a topic, place or reason sent by another system with a right-to-left
    override, which CONTRACT.md accepts (names go through shared.text.mail_name before: a right-to-left one keeps
    the isolates around it, so its line's words and figures keep their order)."""
    return " ".join(keeping_isolates(without_controls, title).split()), keeping_isolates(without_controls, body)


DIGEST_MOST = 50
"""Alerts listed one by one in a digest; the rest are counted (a committee's day can bring hundreds)."""

DIGEST_HEADINGS: dict[str, str] = {
    r.MEETING_SCHEDULED: "Lịch sinh hoạt mới",
    r.MEETING_RESCHEDULED: "Buổi sinh hoạt đổi lịch",
    r.MEETING_CANCELLED: "Buổi sinh hoạt bị hủy",
    r.MEETING_CANCEL_UPDATED: "Cập nhật lý do hủy buổi sinh hoạt",
    r.DOCUMENTS_MISSING: "Chưa đăng tải tài liệu trước buổi sinh hoạt",
    r.MEETING_REMINDER: "Nhắc lịch sinh hoạt",
    r.MINUTES_LATE: "Chậm hoàn thiện biên bản",
    r.MINUTES_LATE_SUPERIOR: "Chậm hoàn thiện biên bản quá hạn, báo cấp trên",
    r.NO_REGULAR_MEETING: "Chưa sinh hoạt thường kỳ trong tháng",
    r.MONTH_WITHOUT_MEETING: "Hết tháng không sinh hoạt thường kỳ",
    r.QUARTER_WITHOUT_THEMATIC: "Quý chưa sinh hoạt chuyên đề",
    r.UNEXCUSED_ABSENCE: "Vắng sinh hoạt không có lý do",
    r.CONSECUTIVE_ABSENCES: "Vắng sinh hoạt nhiều buổi liền",
    r.UNEXCUSED_MONTHS: "Vắng không có lý do nhiều tháng trong năm",
    r.ABSENCE_CORRECTED: "Đính chính thông báo vắng mặt không lý do đã gửi",
    r.CROSSING_CORRECTED: "Đính chính thông báo vắng nhiều buổi, nhiều tháng đã gửi",
    r.MEETING_RATED_LOW: "Buổi sinh hoạt xếp loại Trung bình, Kém",
    r.PERIOD_RATED_LOW: "Chi bộ xếp loại Trung bình, Kém trong kỳ",
    r.PROBATION_ENDING: "Sắp hết thời gian dự bị",
    r.CELL_WITHOUT_COMMITTEE: "Chi bộ chưa có chi ủy",
    r.MONITOR_BEHIND_QUOTA: "Cấp ủy viên phụ trách chưa dự đủ buổi",
}
"""A digest's section heading per rule (DOMAIN.md "Alerts committees and members expect"), in the rules' order; the
corrections of alerts an earlier digest listed (r.DIGESTED_CORRECTIONS) after the alerts they correct."""
OTHER_HEADING = "Cảnh báo khác"


def _digest_sections(alerts: Sequence[tuple[str, str]]) -> str:
    """The digest's list: one section per rule, in DIGEST_HEADINGS' order, each headed with its count; at most
    DIGEST_MOST lines in all, shared out a line per section in turn (so 200 late minutes do not hide a weak
    period), and the rest of each section counted."""
    by_rule: dict[str, list[str]] = {}
    for rule, title in alerts:
        by_rule.setdefault(rule if rule in DIGEST_HEADINGS else "", []).append(title)
    order = [rule for rule in (*DIGEST_HEADINGS, "") if rule in by_rule]
    shown = dict.fromkeys(order, 0)
    left = DIGEST_MOST
    while left > 0:
        took = False
        for rule in order:
            if left > 0 and shown[rule] < len(by_rule[rule]):
                shown[rule] += 1
                left -= 1
                took = True
        if not took:
            break
    sections = []
    for rule in order:
        titles = by_rule[rule]
        lines = [f"{DIGEST_HEADINGS.get(rule, OTHER_HEADING)} ({format_number(len(titles), digits=0)}):"]
        lines += [f"{index}. {title}" for index, title in enumerate(titles[: shown[rule]], start=1)]
        if shown[rule] < len(titles):
            lines.append(f"… và {format_number(len(titles) - shown[rule], digits=0)} cảnh báo khác cùng loại.")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def render_digest(*, recipient: Recipient, day: date, alerts: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """One message collecting a day's alerts, (rule, title) oldest first, for a recipient who chose the daily
    digest: (title, body); grouped by rule, at most DIGEST_MOST alerts listed, the others counted and left to the
    inbox; corrections of alerts an earlier digest listed (r.DIGESTED_CORRECTIONS) counted apart from new alerts."""
    corrections = sum(1 for rule, _ in alerts if rule in r.DIGESTED_CORRECTIONS)
    said = [
        f"{format_number(count, digits=0)} {what}"
        for count, what in ((len(alerts) - corrections, "cảnh báo mới"), (corrections, "đính chính thông báo đã gửi"))
        if count
    ]
    values = {
        "greeting": greeting(recipient),
        "day_text": format_date(day),
        "count": format_number(len(alerts), digits=0),
        "what": " và ".join(said),
        "items": _digest_sections(alerts),
    }
    return plain_mail(Template(DIGEST_TITLE).safe_substitute(values), Template(DIGEST_BODY).safe_substitute(values))


MEETING_PAGE_RULES = frozenset(
    {
        r.MEETING_SCHEDULED,
        r.MEETING_RESCHEDULED,
        r.MEETING_CANCELLED,
        r.MEETING_CANCEL_UPDATED,
        r.DOCUMENTS_MISSING,
        r.MEETING_REMINDER,
        r.MINUTES_LATE,
        r.MINUTES_LATE_SUPERIOR,
        r.UNEXCUSED_ABSENCE,
        r.ABSENCE_CORRECTED,
        r.MEETING_RATED_LOW,
    }
)
"""The rules whose subject is one meeting (domain.rules: subject_id=meeting_id): their mails name its page."""


def page_address(
    public_url: str | None, *, rule: str, subject_id: str, recipient_kind: str, recipient_id: str
) -> str | None:
    """The web app's page a mail sends its reader to, under the deployment's `public_url` (CHIBO_PUBLIC_BASE_URL,
    e.g. "https://chibo.example.vn"): the meeting's page for a notice about one meeting (MEETING_PAGE_RULES), else
    the inbox, a committee's on its page, a person's on their own; None when no address is configured."""
    if not public_url:
        return None
    base = public_url.rstrip("/") + "/app"
    if rule in MEETING_PAGE_RULES and subject_id:
        return f"{base}/meetings/{quote(subject_id, safe='')}"
    if recipient_kind == COMMITTEE:
        return f"{base}/committees/{quote(recipient_id, safe='')}"
    return f"{base}/me"


def with_page(body: str, address: str | None) -> str:
    """A mail's body naming the page to open (page_address): the digest's closing line points to the inbox at it,
    any other mail ends with a line giving it; the body unchanged without an address."""
    if address is None:
        return body
    if body.endswith(DIGEST_CLOSE):
        return body.removesuffix(DIGEST_CLOSE) + f"Chi tiết xem trong hộp thư của hệ thống tại: {address}"
    return f"{body}\n\nXem chi tiết trên hệ thống tại: {address}"
