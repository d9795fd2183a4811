"""The Vietnamese message catalog (gettext, compiled from messages.po at start) and the formats of dates,
numbers, shares and periods a person reads."""

import io
import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from pydantic import BaseModel

from services.gateway.rollups import held_without_regular, waiting_month
from shared.contracts.meetings_rpc import HELD_STATUSES
from shared.envelope import VIETNAM_TZ
from shared.numbers import format_number, percent, shown_score
from shared.periods import is_running, period_months
from shared.plausible import took_place
from shared.text import shown_name

CATALOG = Path(__file__).parent / "locale" / "vi" / "LC_MESSAGES" / "messages.po"
LOCALE = "vi"


@cache
def translations() -> Translations:
    """The catalog, compiled in memory from the .po file (so the reviewed text is what runs)."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale=LOCALE)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def N_(message: str) -> str:
    """Marks a constant for the catalog (extracted like `_`), translated where it is shown."""
    return message


def _(message: str, **values: Any) -> str:
    """The Vietnamese text of `message`, with %(name)s placeholders filled from `values`."""
    text = translations().gettext(message)
    return text % values if values else text


WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


def local(moment: datetime) -> datetime:
    """The moment in Vietnam's time zone (+07:00)."""
    return moment.astimezone(VIETNAM_TZ)


def parse_moment(value: Any) -> datetime | None:
    """A datetime from an ISO string or a datetime; None for nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def format_day(value: date | datetime | str | None) -> str:
    """`thứ Sáu, ngày 04/12/2026`."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10]) if len(value) <= 10 else local(parse_moment(value))  # type: ignore[arg-type]
    if isinstance(value, datetime):
        value = local(value).date()
    weekday = _(WEEKDAYS[value.weekday()])
    return _("%(weekday)s, day %(date)s", weekday=weekday, date=short_date(value))


def format_moment(value: datetime | str | None) -> str:
    """`19:30 thứ Sáu, ngày 04/12/2026` (Vietnam time)."""
    moment = parse_moment(value)
    if moment is None:
        return ""
    moment = local(moment)
    return f"{moment:%H:%M} {format_day(moment)}"


def format_clock(value: datetime | str | None) -> str:
    """`19:30:05`, the time of day of a moment in Vietnam (hh:mm:ss); "" for none."""
    moment = parse_moment(value)
    return "" if moment is None else f"{local(moment):%H:%M:%S}"


def format_short_date(value: date | datetime | str | None) -> str:
    """`04/12/2026`."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = parse_moment(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = local(value)
    assert value is not None
    return short_date(value)


def short_date(value: date) -> str:
    """`04/12/2026`, the year always in four digits (`01/01/0001`: strftime's %Y writes year 1 as `1`)."""
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def format_share(value: float | None) -> str:
    """A share 0..1 as `72,5%`, rounded once from the value given (an unrounded reply figure: 6/11 is `54,5%`,
    where 0.5455 rounded again read `54,6%`); an em dash for no value."""
    if value is None:
        return "—"
    return format_number(percent(value)) + "%"


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
PERIOD = re.compile(r"^([0-9]{4})(?:-(0[1-9]|1[0-2])|-Q([1-4])|-H([12]))?$")


def format_period(period: str, *, within: bool = False) -> str:
    """`Tháng 11/2026`, `Quý IV/2026`, `6 tháng đầu năm 2026` (`2026-H1`; `2026-H2`: `6 tháng cuối năm 2026`),
    `Năm 2026`; `within` a phrase (after a comma, `Từ … đến …`) in lower case: `tháng 11/2026`."""
    match = PERIOD.match(period)
    if not match:
        return period
    year, month, quarter, half = match.groups()
    if month:
        said = _("Month %(month)s/%(year)s", month=int(month), year=year)
    elif quarter:
        said = _("Quarter %(quarter)s/%(year)s", quarter=ROMAN[int(quarter)], year=year)
    elif half == "1":
        said = _("First half of %(year)s", year=year)
    elif half == "2":
        said = _("Second half of %(year)s", year=year)
    else:
        said = _("Year %(year)s", year=year)
    return said[:1].lower() + said[1:] if within else said


def recalculating_note(reply: Mapping[str, Any]) -> str:
    """What a page or export of figures says while evaluation read them off the org tree as last applied
    (`recalculating`: a unit moved, closed or re-dated, its refresh not committed yet), in one wording everywhere;
    empty otherwise."""
    return _("The figures are being updated for the latest organisation change.") if reply.get("recalculating") else ""


def running_note(period: str) -> str:
    """How the figures of a period not ended yet read, in one wording for the committee's page (its notice above the
    figures) and the report's PDF (under its figures): in the month in progress a cell without its regular meeting
    yet is counted apart, and the average score is that of the cells that have met (services.gateway.rollups.
    met_figures), while the regularity and the thematic coverage are over every cell (DOMAIN.md "Periods"; met_base
    names the regularity's base); in a quarter or year, the month in progress counts for a cell once it has met."""
    match = PERIOD.match(period)
    if match and match.group(2):
        return _(
            "%(period)s has not ended yet: the figures count the meetings held so far. A cell without its regular "
            "meeting this month yet is counted apart as without a regular meeting yet, without a rating; the average "
            "score counts only the cells that have held it, while the regularity and the thematic coverage are over "
            "all the cells; a cell still without its regular meeting when the month ends is rated Poor.",
            period=format_period(period),
        )
    return _(
        "%(period)s has not ended yet: the figures count the months gone by and the meetings held so far; this month "
        "counts for a cell once it has met, and a quarter is not rated Poor for a thematic meeting it may still hold.",
        period=format_period(period),
    )


def met_base(rollup: dict[str, Any]) -> str:
    """The base of a running month's regularity, said beside it: `1/6 chi bộ đã sinh hoạt thường kỳ (tháng đang
    diễn ra)` (the cells that have met of all the cells it is over, DOMAIN.md "Periods"); for a running quarter,
    half-year or year its months_base; empty for any other roll-up (a closed period)."""
    if rollup.get("regularity_months") is not None:
        return months_base(rollup)
    if not waiting_month(rollup) or not rollup.get("cells"):
        return ""
    cells = int(rollup["cells"])
    return _(
        "%(met)s/%(cells)s cells have held their regular meeting (month in progress)",
        met=format_number(cells - int(rollup["not_met_yet"] or 0), digits=0),
        cells=format_number(cells, digits=0),
    )


def months_named(months: list[str]) -> str:
    """Consecutive months of one year as Vietnamese writes them: `tháng 10/2026`, `tháng 10–11/2026`."""
    if len(months) == 1:
        return period_within(months[0])
    return _("months %(low)s–%(high)s/%(year)s", low=int(months[0][5:]), high=int(months[-1][5:]), year=months[0][:4])


RUNNING_BASES = {
    "-Q": (
        N_(
            "counted over the %(met)s cells that have held their regular meeting in %(month)s (the quarter "
            "is in its first month, none of its months has ended)"
        ),
        N_(
            "%(met)s/%(rated)s cells have held their regular meeting in every month gone by of the quarter "
            "(%(months)s; quarter in progress)"
        ),
    ),
    "-H": (
        N_(
            "counted over the %(met)s cells that have held their regular meeting in %(month)s (the "
            "half-year is in its first month, none of its months has ended)"
        ),
        N_(
            "%(met)s/%(rated)s cells have held their regular meeting in every month gone by of %(period)s "
            "(%(months)s; in progress)"
        ),
    ),
    "": (
        N_(
            "counted over the %(met)s cells that have held their regular meeting in %(month)s (the year "
            "is in its first month, none of its months has ended)"
        ),
        N_(
            "%(met)s/%(rated)s cells have held their regular meeting in every month gone by of the year "
            "(%(months)s; year in progress)"
        ),
    ),
}
"""months_base's wordings by the running period's kind (quarter "-Q", half-year "-H", year ""): in its first month
(%(met)s, %(month)s), then with months gone by (%(met)s, %(rated)s, %(months)s, %(period)s); one message each, as
the catalog translates a whole sentence."""


def months_base(rollup: dict[str, Any]) -> str:
    """The base of a running quarter, half-year or year's regularity (the share of its rated cells that held their
    regular meeting in every month counted, DOMAIN.md "Periods"; evaluation's domain.periods.evaluate_period), said
    beside it: `4/6 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của quý (tháng 10–11/2026; quý đang diễn ra)`
    off the roll-up's `regularity_months` (services.gateway.rollups.regularity_months), `cells`, `irregular` and
    `not_met_yet`; in its first month the cells that met this month; the cells not rated yet (no month ended for them
    and no regular meeting this month) named apart; empty without `irregular` (an older evaluation)."""
    if rollup.get("irregular") is None or not rollup.get("cells"):
        return ""
    period, gone = str(rollup["period"]), list(rollup["regularity_months"])
    waiting = int(rollup.get("not_met_yet") or 0)
    rated = int(rollup["cells"]) - waiting
    met = rated - int(rollup["irregular"])
    numbers = {"met": format_number(met, digits=0), "rated": format_number(rated, digits=0)}
    first_month, every_month = RUNNING_BASES["-Q" if "-Q" in period else "-H" if "-H" in period else ""]
    if not gone:
        said = _(first_month, month=period_within(period_months(period)[0]), **numbers)
    else:
        said = _(every_month, months=months_named(gone), period=period_within(period), **numbers)
    if not waiting:
        return said
    return _(
        "%(said)s; not counting %(count)s cells with no month ended yet and no regular meeting this month",
        said=said,
        count=format_number(waiting, digits=0),
    )


def period_within(period: str) -> str:
    """format_period within a phrase: `tháng 11/2026`."""
    return format_period(period, within=True)


def lower_first(text: str) -> str:
    """The text with its first letter in lower case, as Vietnamese writes a phrase mid-sentence (`chưa có biên bản`)."""
    return text[:1].lower() + text[1:]


def after_dash(name: str, phrase: str) -> str:
    """A title's `<name> — <phrase>`, the phrase in lower case as Vietnamese writes it mid-sentence (`Xã Hòa Bình —
    tháng 12/2026`, `Chi bộ thôn 1 — sinh hoạt thường kỳ, tháng 12/2026`); the name as given (a proper name)."""
    return f"{name} — {phrase[:1].lower()}{phrase[1:]}"


RATINGS = {"good": N_("Good"), "fair": N_("Fair"), "average": N_("Average"), "poor": N_("Poor")}


# The Vietnamese compounds of the charts' labels (ratings, the not-met bar, the trend's series) a line must not split:
# ECharts wraps a label at any space, and a trial read "Chưa sinh hoạt thường / kỳ" at 390 px. A label's word taken
# into a chart needs its compound here.
COMPOUNDS = (
    "sinh hoạt",
    "thường kỳ",
    "trung bình",
    "bình quân",
    "tỷ lệ",
    "đều đặn",
    "chi bộ",
    "hoàn thành",
    "nhiệm vụ",
)
NO_BREAK = "\u00a0"
_COMPOUND = re.compile(
    "|".join(rf"(?<!\w){' '.join(map(re.escape, compound.split()))}(?!\w)" for compound in COMPOUNDS), re.IGNORECASE
)
# a unit in brackets ("Tỷ lệ (%)") and a period's number ("Tháng 11/2026", "Quý IV/2026", "6 tháng") stay with its word
_BY_NUMBER = re.compile(r"(?<=\w) (?=\(|[0-9]|[IVX]+/)|(?<=[0-9]) (?=\w)")


def unbroken(text: str) -> str:
    """`text` as a chart's label: a no-break space (U+00A0) for each space inside a compound of COMPOUNDS, before a
    bracketed unit and by a period's number, so ECharts wraps it only between words (`Chưa sinh hoạt` /
    `thường kỳ`)."""
    kept = _COMPOUND.sub(lambda match: match.group(0).replace(" ", NO_BREAK), unicodedata.normalize("NFC", text))
    return _BY_NUMBER.sub(NO_BREAK, kept)


def format_rating(rating: str | None) -> str:
    """`Tốt`, `Khá`, `Trung bình`, `Kém`; an em dash for none."""
    if not rating:
        return "—"
    return _(RATINGS.get(rating, rating))


def provisional_rating(row: dict[str, Any]) -> bool:
    """Whether a cell's period rating (its period row, with `flags`, or a ranking line, with `provisional`) is
    provisional: a meeting's manual items not assessed yet, so its score may still change (DOMAIN.md "Quality
    evaluation")."""
    return bool(row.get("rating")) and (bool(row.get("provisional")) or "provisional" in (row.get("flags") or []))


def rating_label(row: dict[str, Any]) -> str:
    """A cell's period rating as every page and export shows it: `Kém`, `Kém (tạm tính)` when provisional
    (provisional_rating), an em dash for none."""
    rating = format_rating(row.get("rating"))
    return f"{rating} ({_('provisional')})" if provisional_rating(row) else rating


RATING_COUNTS = {
    "good": N_("%(count)s good"),
    "fair": N_("%(count)s fair"),
    "average": N_("%(count)s average"),
    "poor": N_("%(count)s poor"),
}


def rating_counts(by_rating: dict[str, int]) -> str:
    """A sub-committee's cells by rating as a phrase, every rating with a nonzero count in the order Tốt, Khá, Trung
    bình, Kém (DOMAIN.md's bands): `1 tốt, 2 khá, 1 kém`; `chưa chi bộ nào được xếp loại` when none is rated (a trial's
    summary named only Tốt and Kém, leaving Khá and Trung bình uncounted)."""
    parts = [
        _(RATING_COUNTS[key], count=format_number(by_rating[key], digits=0))
        for key in RATING_COUNTS
        if by_rating.get(key)
    ]
    return ", ".join(parts) or _("no cell rated")


HALF_YEAR_NO_RATING = N_(
    "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown are "
    "those of its two quarters; the score is the mean of the scores of its six months (%(period)s, %(months)s), a "
    "month without a meeting counting 0."
)
"""What every page and export of an ended half-year says where a rating would be (DOMAIN.md "Periods" rates months,
quarters and years only), its months named as a running one's are (a trial's ended half-year said only "sáu
tháng")."""
HALF_YEAR_FIRST_MONTH = N_(
    "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown are "
    "those of its first quarter; the half-year is in its first month, so the score is that month's, counted only "
    "for the cells that have held their regular meeting."
)
"""HALF_YEAR_NO_RATING while the half-year's first month runs: no month of it has ended yet."""


def n_(singular: str, plural: str, count: int, **values: Any) -> str:
    """The Vietnamese text of the message for `count` (gettext's plural forms; Vietnamese has one), with %(count)s
    and %(name)s placeholders filled."""
    return translations().ngettext(singular, plural, count) % ({"count": count} | values)


def half_year_no_rating(
    period: str,
    today: date | None = None,
    *,
    rollup: Mapping[str, Any] | None = None,
    span: tuple[str | None, str | None] | None = None,
) -> str:
    """What a half-year's page and PDF say where a rating would be (HALF_YEAR_NO_RATING): for an ended one the mean
    of its six months, or of the months its cells counted when one was set up (or closed) partway through (the
    `rollup`'s fewest_months_counted and most_months_counted, evaluation's); for one running on `today` (default:
    today in Vietnam) the mean of the months gone by so far, named (`5 tháng đã qua (từ tháng 7/2026 đến tháng
    11/2026)`), the running month counted for a cell once it has met (DOMAIN.md "Periods", evaluation's
    domain.periods.period_result), each cell's months gone by counted from the month it was set up, that month whole
    (the `rollup`'s fewest_months_gone and most_months_gone, evaluation's queries.months_gone; both 0, one cell's line
    set up this month: that month only, said plainly, not the half-year's months; with one cell's `span`, its first
    and last month as data.cell_span gives them, the months gone by it existed in named: `từ tháng 9/2026 đến tháng
    11/2026`, the months its score averages; DOMAIN.md "Periods": a
    period's score is the mean of its months'; docs/architecture.md "When a cell exists": "The month it began or
    ended counts whole", DOMAIN.md's "How to read it, exactly" saying nothing of cells set up partway)."""
    today = today or datetime.now(VIETNAM_TZ).date()
    current = f"{today:%Y-%m}"
    months = period_months(period)
    if current > months[-1]:
        fewest, most = (rollup or {}).get("fewest_months_counted"), (rollup or {}).get("most_months_counted")
        if fewest is None or most is None or fewest == most == len(months):
            return _(
                HALF_YEAR_NO_RATING,
                period=period_within(period),
                months=_(
                    "from month %(low)s to %(high)s/%(year)s",
                    low=int(months[0][5:]),
                    high=int(months[-1][5:]),
                    year=months[0][:4],
                ),
            )
        if fewest == most:
            return n_(
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its two quarters; the score is the mean of the scores of the %(count)s month the "
                "cell existed in during the half-year (a cell set up partway through counts from the month it was set "
                "up), a month without a meeting counting 0.",
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its two quarters; the score is the mean of the scores of the %(count)s months the "
                "cell existed in during the half-year (a cell set up partway through counts from the month it was set "
                "up), a month without a meeting counting 0.",
                int(most),
            )
        return _(
            "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown "
            "are those of its two quarters; each cell's score is the mean of the scores of the months it existed in "
            "during the half-year (from %(fewest)s to %(most)s months: a cell set up partway through counts from the "
            "month it was set up), a month without a meeting counting 0.",
            fewest=int(fewest),
            most=int(most),
        )
    gone = [month for month in months if month < current]
    if not gone:
        return _(HALF_YEAR_FIRST_MONTH)
    fewest, most = (rollup or {}).get("fewest_months_gone"), (rollup or {}).get("most_months_gone")
    if span is not None and (span[0] is not None or span[1] is not None):
        # one cell's page: the months gone by it existed in, as evaluation's months_gone counts them
        first, last = span
        own = [month for month in gone if (first or month) <= month <= (last or month)]
        fewest = most = len(own)
        named = _months_named(own or gone)
    else:
        named = _months_named(gone)
    if fewest == most == 0:
        # one cell's line (its page, its evidence) set up this month: none of the months gone by is its own
        return _(
            "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown "
            "are those of its quarters begun so far; the cell was set up in %(month)s and none of its months has "
            "ended yet, so the score is that of %(month)s, counted only once the cell has held its regular meeting "
            "in it.",
            month=period_within(current),
        )
    one_cell = span is not None  # a cell's own page or evidence: "if the cell has met", not "any cell that has met"
    if fewest and most and (fewest, most) != (len(gone), len(gone)):
        # a cell set up partway through has fewer months gone by than the half-year (evaluation's months_gone)
        if fewest == most and one_cell:
            return n_(
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its quarters begun so far; the half-year has not ended, so the cell's score is the "
                "mean of the scores of the %(count)s month gone by (%(months)s) that it existed in (counted from the "
                "month it was set up) and, once it has held its regular meeting this month, of this month; a month "
                "without a meeting counts 0.",
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its quarters begun so far; the half-year has not ended, so the cell's score is the "
                "mean of the scores of the %(count)s months gone by (%(months)s) that it existed in (counted from the "
                "month it was set up) and, once it has held its regular meeting this month, of this month; a month "
                "without a meeting counts 0.",
                int(most),
                months=named,
            )
        if fewest == most:
            return n_(
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its quarters begun so far; the half-year has not ended, so the score is the mean "
                "of the scores of the %(count)s month gone by (%(months)s) that the cell existed in (a cell set up "
                "partway through counts from the month it was set up) and, for a cell that has held its regular "
                "meeting this month, of this month; a month without a meeting counts 0.",
                "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings "
                "shown are those of its quarters begun so far; the half-year has not ended, so the score is the mean "
                "of the scores of the %(count)s months gone by (%(months)s) that the cell existed in (a cell set up "
                "partway through counts from the month it was set up) and, for a cell that has held its regular "
                "meeting this month, of this month; a month without a meeting counts 0.",
                int(most),
                months=named,
            )
        return _(
            "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown "
            "are those of its quarters begun so far; the half-year has not ended, so each cell's score is the mean of "
            "the scores of the months gone by (%(months)s) that it existed in (from %(fewest)s to %(most)s months: a "
            "cell set up partway through counts from the month it was set up) and, for a cell that has held its "
            "regular meeting this month, of this month; a month without a meeting counts 0.",
            months=named,
            fewest=int(fewest),
            most=int(most),
        )
    # evaluation scores a running period over its months ended so far and the running month only for a cell that
    # has held its regular meeting (domain.periods.period_result, half_year_line): not six months
    if one_cell:
        return n_(
            "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown "
            "are those of its quarters begun so far; the half-year has not ended, so the cell's score is the mean of "
            "the scores of the %(count)s month gone by (%(months)s) and, once it has held its regular meeting this "
            "month, of this month; a month without a meeting counts 0.",
            "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown "
            "are those of its quarters begun so far; the half-year has not ended, so the cell's score is the mean of "
            "the scores of the %(count)s months gone by (%(months)s) and, once it has held its regular meeting this "
            "month, of this month; a month without a meeting counts 0.",
            len(gone),
            months=named,
        )
    return n_(
        "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown are "
        "those of its quarters begun so far; the half-year has not ended, so the score is the mean of the scores of "
        "the %(count)s month gone by (%(months)s) and, for a cell that has held its regular meeting this month, of "
        "this month; a month without a meeting counts 0.",
        "No rating is defined for a half-year: the rules rate each month, quarter and year, so the ratings shown are "
        "those of its quarters begun so far; the half-year has not ended, so the score is the mean of the scores of "
        "the %(count)s months gone by (%(months)s) and, for a cell that has held its regular meeting this month, of "
        "this month; a month without a meeting counts 0.",
        len(gone),
        months=named,
    )


def _months_named(months: list[str]) -> str:
    """Consecutive months (`2026-09`…) as a phrase: `tháng 9/2026`, `từ tháng 9/2026 đến tháng 11/2026`."""
    if len(months) == 1:
        return period_within(months[0])
    return _("from %(low)s to %(high)s", low=period_within(months[0]), high=period_within(months[-1]))


def quarter_ratings_text(quarter_ratings: dict[str, str | None], provisional: Mapping[str, bool] | None = None) -> str:
    """A half-year line's quarters' ratings (evaluation's `quarter_ratings`) as a phrase: `Quý I/2026: Kém; Quý
    II/2026: Khá`, `chưa xếp loại` for a quarter not rated (yet); a quarter marked in `provisional` (evaluation's
    `quarter_provisional`: its own row flagged provisional) reads `Khá (tạm tính)` as rating_label writes it."""
    marked = provisional or {}
    return "; ".join(
        f"{format_period(quarter)}: "
        + (
            rating_label({"rating": rating, "provisional": marked.get(quarter, False)})
            if rating
            else lower_first(_("Not rated yet"))
        )
        for quarter, rating in sorted(quarter_ratings.items())
    )


def quarters_rating_counts(quarters: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A half-year roll-up's quarters (its `quarters`) as (`Xếp loại quý I/2026`, `1 khá, 1 kém`) pairs
    (rating_counts), in order."""
    return [
        (_("Ratings of %(period)s", period=period_within(quarter["period"])), rating_counts(quarter["by_rating"]))
        for quarter in quarters
    ]


LABELS = {
    "kind": {
        "regular": N_("Regular meeting"),
        "thematic": N_("Thematic meeting"),
        "combined": N_("Regular and thematic meeting"),
        "extraordinary": N_("Extraordinary meeting"),
    },
    "status": {
        "scheduled": N_("Scheduled"),
        "cancelled": N_("Cancelled"),
    },
    "attendance": {
        "present": N_("Present"),
        "excused": N_("Absent with leave"),
        "absent": N_("Absent without leave"),
        "exempt": N_("Exempt from meetings"),
        "transferred": N_("Temporarily elsewhere"),
    },
    "document": {
        "content": N_("Meeting content"),
        "draft_resolution": N_("Draft resolution"),
        "minutes": N_("Minutes"),
        "resolution": N_("Resolution"),
        "other": N_("Other document"),
    },
    "channel": {"email": N_("E-mail"), "webhook": N_("Text message (SMS gateway)"), "inbox": N_("In-app inbox")},
}


def label(kind: str, value: str | None) -> str:
    """The Vietnamese word for a code of the contract (meeting kind, status, attendance, document kind)."""
    if not value:
        return ""
    return _(LABELS[kind].get(value, value))


def absence_reason(record: Mapping[str, Any]) -> str:
    """The reason a roster line ({status, reason?}) is shown with: its `reason`, or "" for an absence without leave
    (DOMAIN.md gives reasons to excused absences; an integration's roster may still carry one, CONTRACT.md, and
    "Vắng không lý do (Ốm)" would contradict itself)."""
    return "" if record.get("status") == "absent" else str(record.get("reason") or "")


MINUTES_STATES = {
    "none": N_("No minutes yet"),
    "recorded": N_("Minutes recorded"),
    "unpublished": N_("Minutes recorded (not published)"),
    "published": N_("Minutes published"),
    "adopted": N_("Minutes adopted by the cell"),
    "cancelled": N_("Minutes received, not counted: the meeting was cancelled"),
}
"""A meeting's minutes as every page says them (minutes_state's codes); `recorded`: minutes in, and the reply does
not say whether they were published (a meetings service older than `minutes_published`); `cancelled`: minutes
another system recorded for a meeting that is cancelled (not held, DOMAIN.md), shown marked, never as "no minutes"."""


def _field(meeting: Any, name: str) -> Any:
    if isinstance(meeting, BaseModel):
        return getattr(meeting, name, None)
    return meeting.get(name) if isinstance(meeting, dict) else None


def minutes_state(meeting: Any) -> str:
    """The state of a meeting's minutes (a meetings RPC reply, MeetingSummaryReply or MeetingReply, or its dict):
    `none` (not held: no minutes, DOMAIN.md), `adopted` (the cell adopted them), `published` (a minutes document
    published, documents.published.v1), `unpublished`, or `recorded` when the reply cannot tell (no
    `minutes_published` and no documents list), `cancelled` (a cancelled meeting whose reply holds minutes: not
    held, not counted; one without minutes reads `none`)."""
    status = _field(meeting, "status")
    if status == "cancelled":
        return "cancelled" if _field(meeting, "minutes") else "none"
    held = status in HELD_STATUSES if status else bool(_field(meeting, "minutes"))
    if not held:
        return "none"
    if status == "minutes_approved" or (status is None and _field(meeting, "approved_at")):
        return "adopted"
    published = _field(meeting, "minutes_published")
    if published is None:
        documents = _field(meeting, "documents")
        if isinstance(documents, list) and documents:
            published = any(_field(document, "kind") == "minutes" for document in documents)
        elif isinstance(documents, list) and _field(meeting, "minutes") is not None:
            published = False  # a whole meeting's reply lists every document: none published
    if published is None:
        return "recorded"
    return "published" if published else "unpublished"


def minutes_label(meeting: Any) -> str:
    """The state of a meeting's minutes in Vietnamese, the same on every page (`Chưa có biên bản`, `Đã ghi biên bản
    (chưa đăng tải)`, `Đã đăng tải biên bản`, `Biên bản đã được thông qua`); the meeting as minutes_state takes it."""
    return _(MINUTES_STATES[minutes_state(meeting)])


def meeting_took_place(meeting: Any, recorded: bool | None = None) -> bool:
    """Whether a meeting (a reply or its dict) scheduled, not cancelled, took place now (shared.plausible.took_place:
    begun, its attendance recorded, `recorded` when given; its minutes still to come): its secretary neither cancels
    it nor moves it ahead, only corrects when it took place ("Sửa thời điểm đã diễn ra")."""
    starts_at = _field(meeting, "starts_at")
    if _field(meeting, "status") != "scheduled" or starts_at is None:
        return False
    moment = datetime.fromisoformat(starts_at) if isinstance(starts_at, str) else starts_at
    if recorded is None:
        recorded = _field(meeting, "attendance_recorded")
    if recorded is None:
        recorded = _field(meeting, "attendance") is not None
    return took_place(starts_at=moment, attendance_recorded=bool(recorded), now=datetime.now(VIETNAM_TZ))


def recorded_held(meeting: Any) -> bool:
    """Whether a meeting (a reply or its dict) still scheduled was recorded by its secretary as already held
    (`held_recorded_at`), its roster taken or not: like one that took place, it is not moved to a start still ahead
    (meetings' check_not_taken_place), only corrected to when it took place, or cancelled if it did not."""
    return _field(meeting, "status") == "scheduled" and _field(meeting, "held_recorded_at") is not None


def held_recorded_note(meeting: Any) -> str | None:
    """`Ghi lại sau khi họp, lúc 21:11 thứ Hai, ngày 07/12/2026` for a meeting (a reply or its dict) its secretary
    recorded after it was held (`held_recorded_at`, "Ghi lại buổi sinh hoạt đã diễn ra"), None for one scheduled
    beforehand or by an integration: a reader of a past meeting tells one typed in afterwards (a trial's officer could
    not, its notice time being the secretary's declaration)."""
    recorded = _field(meeting, "held_recorded_at")
    return _("Recorded after the meeting, at %(when)s", when=format_moment(recorded)) if recorded else None


def held_correctable(meeting: Any) -> bool:
    """Whether a held meeting's start is still corrected to when it took place (a reply or its dict): its minutes
    recorded and not adopted (status `minutes_submitted`, no `approved_at`), as meetings' check_not_moved_when_held
    takes a secretary's move of it to a start already past; its record page offers "Sửa thời điểm đã diễn ra"."""
    return _field(meeting, "status") == "minutes_submitted" and _field(meeting, "approved_at") is None


def meeting_status_label(meeting: Any, attendance_recorded: bool | None = None) -> str:
    """A meeting's status in Vietnamese, the same on every page: a held meeting's is the state of its minutes
    (minutes_label); `Đã diễn ra, đang chờ biên bản` for one that took place (meeting_took_place: begun, its roster
    recorded or the meeting recorded as already held, `held_recorded_at`), `Đã lên lịch (đã điểm danh, đang chờ biên
    bản)` for one still ahead whose roster an integration sent early (neither held until its minutes come,
    DOMAIN.md). `meeting`: a reply or its dict, or (older callers) a status code with `attendance_recorded`."""
    if isinstance(meeting, str) or meeting is None:
        status, recorded = meeting, attendance_recorded
        meeting = {"status": status}
    else:
        status, recorded = _field(meeting, "status"), _field(meeting, "attendance_recorded")
    if status in HELD_STATUSES:
        return minutes_label(meeting)
    said = label("status", status)
    if (
        status == "scheduled"
        and (recorded or _field(meeting, "held_recorded_at"))
        and meeting_took_place(meeting, True)
    ):
        # recorded as already held ("Ghi lại buổi sinh hoạt đã diễn ra"): held from then on, its roster to come (a
        # trial's meeting so recorded read "Đã lên lịch" until its attendance was taken)
        return _("Held, waiting for the minutes")
    if status == "scheduled" and recorded:
        return _("%(status)s (attendance recorded, waiting for the minutes)", status=said)
    return said


def meeting_summary(meeting: Any) -> str:
    """A meeting ahead as a list says it after its moment, the same on the secretary's and the member's pages: its
    kind, its topic after a colon, its place after a comma (`Sinh hoạt chuyên đề: Học tập Chỉ thị 50, Hội trường
    UBND xã`); `meeting` a reply or its dict; a missing topic or place is left out."""
    said = label("kind", _field(meeting, "kind"))
    if topic := _field(meeting, "topic"):
        said += f": {topic}"
    if location := _field(meeting, "location"):
        said += f", {location}"
    return said


NOT_MET = N_("no meeting yet")
NOT_MET_REGULAR = N_("no regular meeting yet")


def not_met_label(row: dict[str, Any], *, capital: bool = False) -> str:
    """How a cell's month not met yet reads (its period row or ranking line): `chưa sinh hoạt thường kỳ` when it held
    some meeting but not its regular one (rollups.held_without_regular: a thematic or extraordinary meeting only),
    else `chưa sinh hoạt`; `capital`: first letter upper-cased (an export's rating column)."""
    said = _(NOT_MET_REGULAR if held_without_regular(row) else NOT_MET)
    return said[:1].upper() + said[1:] if capital else said


LATE_UP = N_("Recorded late: the result of %(month)s changed on %(day)s from %(old)s up to %(new)s.")
LATE_DOWN = N_("Recorded late: the result of %(month)s changed on %(day)s from %(old)s down to %(new)s.")
LATE_RERATED = N_("Recorded late: the result of %(month)s changed on %(day)s from %(old)s to %(new)s.")
LATE_BACK = N_(
    "Recorded late: the result of %(month)s changed after the month closed and on %(day)s went back to %(new)s."
)
LATE_TIMES = N_("(%(count)s late records)")
LATE_ADDED = N_("Added on %(day)s, counted from %(month)s; its result for %(month)s is %(new)s.")
"""A cell set up late with an effective time in a closed month (evaluation's `late_change` kind "unit_added"): it
counts in that month from then on, so its committees' figures of the month changed after it closed (trial 33)."""
LATE_ADDED_SAME = N_("Added on %(day)s, counted from %(first)s; its results for %(months)s are all %(new)s.")
"""LATE_ADDED for the several closed months a cell set up late counts in, said once on its page (late_change_items):
a trial's cell page repeated "Được bổ sung ngày 07/12/2026…" under each month."""
LATE_ADDED_EACH = N_("Added on %(day)s, counted from %(first)s; its results: %(results)s.")
"""LATE_ADDED_SAME when the months' results differ, each named: `tháng 9/2026 là 0 (Kém) và tháng 10/2026 là 85
(Khá)`."""
LATE_ADDED_RESULT = N_("%(month)s is %(new)s")
LATE_FIRST = N_("Recorded late: a meeting of %(month)s was recorded on %(day)s; its result for %(month)s is %(new)s.")
"""A closed month a cell that already existed first counts in because a held meeting of it was recorded late (kind
"result" without figures before: the meeting moved the cell's start earlier); not worded as a cell added."""
LATE_CLOSED = N_("Closed, recorded on %(day)s: no longer counted in %(month)s, where it stood at %(old)s.")
LATE_CLOSED_BARE = N_("Closed, recorded on %(day)s: no longer counted in %(month)s.")
"""A cell made inactive late with an effective time before the month (kind "unit_closed"): it left the month's
figures after the month closed; with the figures it stood at, when known."""

LATE_WITHDRAWN = N_(
    "Recorded late: the meeting of %(meeting_day)s was cancelled, recorded on %(day)s; the result of %(month)s"
    " %(change)s."
)
LATE_NOT_HELD = N_(
    "Recorded late: the meeting of %(meeting_day)s did not take place, recorded on %(day)s; the result of %(month)s"
    " %(change)s."
)
"""A closed month whose held meeting's score was withdrawn after it closed (evaluation's `late_change` kind
"withdrawn"): cancelled (`meeting_cancelled`), or not held (any other withdrawal); the month's figures before and
now (a new user saw November go Tốt→Kém after its only meeting was cancelled, unsaid)."""
RESCORED = N_("Re-scored under the framework %(framework)s on %(day)s: the result of %(month)s %(change)s.")
"""A closed month an operator's re-score job rated again (kind "rescored"): no fact came late, so it does not read
"Ghi nhận muộn"; the framework named as stored, its version when it has no name."""
FRAMEWORK_VERSION = N_("%(name)s, version %(version)s")
CHANGE_UP = N_("went from %(old)s up to %(new)s")
CHANGE_DOWN = N_("went from %(old)s down to %(new)s")
CHANGE_TO = N_("went from %(old)s to %(new)s")
"""How a withdrawal's or a re-score's note says the month's figures before and now (`từ 85 (Tốt) xuống 0 (Kém)`)."""

LATE_MOVED = N_(
    "Moved to %(to)s (formerly under %(from)s), recorded on %(day)s: its result for %(month)s, %(new)s, now counts"
    " under %(to)s."
)
"""A cell moved to another committee after the month closed (evaluation's `late_change` kind "unit_moved"): its
month now counts under the committee it joined, no longer under the one it left; both see this (h351)."""
LATE_PLACED = N_(
    "Placed under %(to)s (before that under no committee), recorded on %(day)s: its result for %(month)s, %(new)s,"
    " now counts under %(to)s."
)
"""A cell whose root unit (a committee with no parent, or the cell itself) was put under a committee after the month
closed (kind "unit_moved", `moved_from_id` None): the committees above it now count the month."""
LATE_UNPLACED = N_(
    "Moved out, no longer under any committee (formerly under %(from)s), recorded on %(day)s: its result for"
    " %(month)s, %(new)s, no longer counts under %(from)s."
)
"""A cell made a root (no committee above it any more) after the month closed (kind "unit_moved", `moved_to_id`
None): the committee that lost it read "Chuyển sang một cấp ủy khác", as if another had taken it (h374)."""
LATE_MOVED_UNIT = N_("another committee")
"""A committee of a move whose name evaluation does not know (a unit not in the tree, or a cell made a root)."""


MOVE_OWN = N_("Moved to %(to)s (formerly under %(from)s), recorded on %(day)s.")
MOVE_OWN_PLACED = N_("Placed under %(to)s (before that under no committee), recorded on %(day)s.")
MOVE_OWN_UNPLACED = N_("Moved out, no longer under any committee (formerly under %(from)s), recorded on %(day)s.")
MOVE_UNIT = N_("%(unit)s moved to %(to)s (formerly under %(from)s), recorded on %(day)s.")
MOVE_UNIT_PLACED = N_("%(unit)s was placed under %(to)s (before that under no committee), recorded on %(day)s.")
MOVE_UNIT_UNPLACED = N_(
    "%(unit)s moved out, no longer under any committee (formerly under %(from)s), recorded on %(day)s."
)
MOVES_RESULT = N_("Its result for %(month)s is %(new)s, now counted under %(to)s.")
"""A month whose cell moved and whose committee above then moved too (evaluation's `moves` of more than one unit):
each move its own sentence, the cell's own without its name (the note follows it), a committee's naming it, then the
month's result and the committees each unit that moved is under now; the netted note read them as one move of the
cell to the last move's committee from the first one's, in one run-on sentence."""

MOVED_FIGURES = N_("Its figures for %(period)s now count under %(to)s.")
MOVED_FIGURES_OUT = N_("Its figures for %(period)s no longer count under %(from)s.")
"""A quarter or year not rated yet of a cell moved after a month of it closed (evaluation's "unit_moved" note without
figures): after the move's own sentence, where the cell's figures of the period count now."""


def _committee_of(move: dict[str, Any], end: str) -> str:
    """The committee a move (a note, or one of its `moves`) went to (`end` "to") or came from ("from"), by its name,
    else its id, made harmless; LATE_MOVED_UNIT when neither is known (a unit not in the tree, or no committee)."""
    return shown_name(str(move.get(f"moved_{end}_name") or move.get(f"moved_{end}_id") or "")) or _(LATE_MOVED_UNIT)


def _move_sentence(cell_id: str, move: dict[str, Any]) -> str:
    """One move of a "unit_moved" note's `moves` as its own sentence (MOVE_OWN for the cell's, MOVE_UNIT naming a
    committee that took it along), committee names made harmless."""
    to, source = _committee_of(move, "to"), _committee_of(move, "from")
    day = format_short_date(move["changed_at"])
    own = move["unit_id"] == cell_id
    unit = shown_name(str(move.get("unit_name") or move["unit_id"]))
    if move.get("moved_from_id") is None and move.get("moved_to_id") is not None:
        return _(MOVE_OWN_PLACED, to=to, day=day) if own else _(MOVE_UNIT_PLACED, unit=unit, to=to, day=day)
    if move.get("moved_to_id") is None:
        return (
            _(MOVE_OWN_UNPLACED, day=day, **{"from": source})
            if own
            else _(MOVE_UNIT_UNPLACED, unit=unit, day=day, **{"from": source})
        )
    if own:
        return _(MOVE_OWN, to=to, day=day, **{"from": source})
    return _(MOVE_UNIT, unit=unit, to=to, day=day, **{"from": source})


def moves_note(period: str, late: dict[str, Any], new: str) -> str:
    """A "unit_moved" note whose `moves` are of more than one unit (the cell moved, then a committee above it): each
    move in its own sentence (_move_sentence), then the month's result and the committees each moved unit is under
    now (its last move's; the netted `moved_to_*` when none is)."""
    moves = list(late["moves"])
    units = list(dict.fromkeys(str(move["unit_id"]) for move in moves))
    # the cell is the unit that moved and is no move's committee (a committee that moved is the cell's new parent)
    parents = {move.get(key) for move in moves for key in ("moved_from_id", "moved_to_id")}
    cell_id = next((unit for unit in units if unit not in parents), units[0])
    now: list[str] = []
    for unit in units:
        last = [move for move in moves if move["unit_id"] == unit][-1]
        if last.get("moved_to_id") is not None:
            now.append(_committee_of(last, "to"))
    if not now:
        now = [_committee_of(late, "to")]
    said = [_move_sentence(cell_id, move) for move in moves]
    if late.get("new_score") is None:
        said.append(_(MOVED_FIGURES, period=period_within(period), to=joined(list(dict.fromkeys(now)))))
    else:
        said.append(_(MOVES_RESULT, month=period_within(period), new=new, to=joined(list(dict.fromkeys(now)))))
    return " ".join(said)


def moved_note(period: str, late: dict[str, Any]) -> str:
    """How a month of a cell moved to another committee after it closed reads (kind "unit_moved"): `Chuyển sang Đảng
    ủy phường An Phú (trước thuộc Đảng ủy xã Hòa Bình), ghi nhận ngày 05/12/2026: kết quả tháng 11/2026 là 76,4 (Khá),
    nay tính cho Đảng ủy phường An Phú.`, the committee names made harmless (shared.text.shown_name); from a root
    (`moved_from_id` None): `Đưa vào Đảng ủy phường An Phú (trước đó không trực thuộc cấp ủy nào), ...`; made a root
    (`moved_to_id` None): `Chuyển ra, không còn trực thuộc cấp ủy nào (trước thuộc Đảng ủy xã Hòa Bình), ...`; moves
    of more than one unit (evaluation's `moves`: the cell moved, then a committee above it): one sentence each
    (moves_note). A quarter or year says its own result the same way; without figures (a half-year, a period not
    rated yet: no `new_score`) the move, then `Số liệu 6 tháng cuối năm 2026 của chi bộ nay tính cho …`."""
    new = f"{format_number(late['new_score'])} ({format_rating(late['new_rating'])})"
    if len({move["unit_id"] for move in late.get("moves") or ()}) > 1:
        return moves_note(period, late, new)
    names = [_committee_of(late, "to"), _committee_of(late, "from")]
    day = format_short_date(late["changed_at"])
    if late.get("new_score") is None:
        # a quarter or year not rated yet: the move, then where the cell's figures of it count now
        move = {**late, "unit_id": ""}  # said as the cell's own move (MOVE_OWN), the note following its name
        if late.get("moved_to_id") is None and late.get("moved_from_id") is not None:
            after = _(MOVED_FIGURES_OUT, period=period_within(period), **{"from": names[1]})
        else:
            after = _(MOVED_FIGURES, period=period_within(period), to=names[0])
        return f"{_move_sentence('', move)} {after}"
    if late.get("moved_from_id") is None and late.get("moved_to_id") is not None:
        return _(LATE_PLACED, to=names[0], day=day, month=period_within(period), new=new)
    if late.get("moved_to_id") is None and late.get("moved_from_id") is not None:
        return _(LATE_UNPLACED, day=day, month=period_within(period), new=new, **{"from": names[1]})
    return _(LATE_MOVED, to=names[0], day=day, month=period_within(period), new=new, **{"from": names[1]})


def _shown_direction(late: dict[str, Any], *, up: str, down: str, same: str) -> str:
    """The message of a note whose figures before and now are both known by which way its score went as the page shows
    them (shared.numbers.shown_score, one decimal): `up`, `down`, or `same` for one shown alike (79.96 → 80.01 read
    `từ 80 (Khá) lên 80 (Tốt)`, a rise nobody could see; evaluation notes it for the rating, shown_change)."""
    old, new = shown_score(late["old_score"]), shown_score(late["new_score"])
    assert old is not None and new is not None  # callers say a note without both otherwise
    return up if new > old else down if new < old else same


def changed_note(period: str, late: dict[str, Any]) -> str:
    """How a closed month a withdrawn meeting (kind "withdrawn") or a re-score (kind "rescored") changed reads:
    `Ghi nhận muộn: buổi sinh hoạt ngày 05/11/2026 đã hủy, ghi nhận ngày 04/12/2026; kết quả tháng 11/2026 từ 92
    (Tốt) xuống 0 (Kém).` (`không diễn ra` for a meeting withdrawn as not held), or `Chấm lại theo bộ tiêu chí
    Hướng dẫn 42 ngày 05/12/2026: kết quả tháng 10/2026 từ 92 (Tốt) xuống 80 (Khá).`, names made harmless."""
    new = f"{format_number(late['new_score'])} ({format_rating(late['new_rating'])})"
    if late.get("old_score") is None:
        change = _(CHANGE_TO, old="—", new=new)
    else:
        old = f"{format_number(late['old_score'])} ({format_rating(late['old_rating'])})"
        change = _(_shown_direction(late, up=CHANGE_UP, down=CHANGE_DOWN, same=CHANGE_TO), old=old, new=new)
    day = format_short_date(late["changed_at"])
    month = period_within(period)
    if late.get("kind") == "rescored":
        framework = shown_name(str(late.get("framework_name") or late.get("framework_id") or ""))
        if late.get("framework_version"):
            framework = _(FRAMEWORK_VERSION, name=framework, version=shown_name(str(late["framework_version"])))
        return _(RESCORED, framework=framework, day=day, month=month, change=change)
    meeting_day = format_short_date(late["meeting_starts_at"]) if late.get("meeting_starts_at") else month
    message = LATE_WITHDRAWN if late.get("meeting_cancelled") is not False else LATE_NOT_HELD
    return _(message, meeting_day=meeting_day, day=day, month=month, change=change)


LATE_CHANGES_TITLE = N_("Results changed after the month closed")
MOVED_CELLS_TITLE = N_("Cells moved to another committee: figures recalculated")
"""The heading over a roll-up's `late_changes`: a month's results changed late, or, for a quarter or year (which
lists only its cells moved in or out after a month of it closed), the cells whose figures now count elsewhere."""


def late_changes_title(period: str) -> str:
    """The heading over a roll-up's late changes (page and PDF alike): LATE_CHANGES_TITLE for a month,
    MOVED_CELLS_TITLE for a quarter or year."""
    title = LATE_CHANGES_TITLE if len(period_months(period)) == 1 else MOVED_CELLS_TITLE
    return _(title)


LATE_BADGE = N_("recorded late")
RESCORED_BADGE = N_("re-scored")


def late_change_badge(late: dict[str, Any] | None) -> str:
    """The badge beside a month that changed after it closed: `chấm lại` for a re-score (kind "rescored": no fact
    came late), else `ghi nhận muộn`."""
    badge = RESCORED_BADGE if (late or {}).get("kind") == "rescored" else LATE_BADGE
    return _(badge)  # the kind's literal kept out of the call: extraction would take it for a message


def late_change_note(period: str, late: dict[str, Any] | None) -> str:
    """How a closed month whose result a late fact changed reads (evaluation's `late_change`): `Ghi nhận muộn: kết quả
    tháng 11/2026 thay đổi ngày 04/12/2026 từ 85 (Khá) lên 92 (Tốt).`, the figures it closed with and those it has
    now; empty for none. A trial's officer saw November's score and rating move after the month closed, unsaid. A
    cell set up late with an effective time in the month (kind "unit_added"): `Được bổ sung ngày 05/12/2026, tính từ
    tháng 11/2026; kết quả tháng 11/2026 là 0 (Kém).`, after the cell's name; a month an existing cell first counts in
    because a meeting of it was recorded late (kind "result" without figures before): `Ghi nhận muộn: buổi sinh hoạt
    tháng 10/2026 được ghi nhận ngày 05/12/2026; kết quả tháng 10/2026 là 85 (Khá).`; one closed late with an
    effective time before it (kind "unit_closed"): `Ngừng hoạt động, ghi nhận ngày 05/12/2026: không còn tính trong
    tháng 11/2026, trước đó là 85 (Khá).`"""
    if not late:
        return ""
    if late.get("kind") == "unit_moved":
        return moved_note(period, late)
    if late.get("kind") in ("withdrawn", "rescored") and late.get("new_score") is not None:
        return changed_note(period, late)
    if late.get("kind") == "unit_closed" or late.get("new_score") is None:
        day = format_short_date(late["changed_at"])
        if late.get("old_score") is None:
            return _(LATE_CLOSED_BARE, day=day, month=period_within(period))
        old = f"{format_number(late['old_score'])} ({format_rating(late['old_rating'])})"
        return _(LATE_CLOSED, day=day, month=period_within(period), old=old)
    new = f"{format_number(late['new_score'])} ({format_rating(late['new_rating'])})"
    if late.get("kind") == "unit_added":
        day = format_short_date(late.get("first_changed_at") or late["changed_at"])
        return _(LATE_ADDED, day=day, month=period_within(period), new=new)
    if late.get("old_score") is None:
        day = format_short_date(late.get("first_changed_at") or late["changed_at"])
        return _(LATE_FIRST, day=day, month=period_within(period), new=new)
    old = f"{format_number(late['old_score'])} ({format_rating(late['old_rating'])})"
    same = LATE_RERATED if late["new_rating"] != late["old_rating"] else LATE_BACK
    message = _shown_direction(late, up=LATE_UP, down=LATE_DOWN, same=same)
    said = _(message, month=period_within(period), day=format_short_date(late["changed_at"]), old=old, new=new)
    count = int(late.get("changes") or 1)
    return f"{said} {_(LATE_TIMES, count=count)}" if count > 1 else said


def late_change_items(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The notes under a cell's month strip, each thing said once: every month with a `late_change` its own note
    (late_change_note), except the months a cell set up late counts in (kind "unit_added", added on one day), which
    share one note naming them (LATE_ADDED_SAME, LATE_ADDED_EACH; one month: LATE_ADDED). Each item: `periods` (the
    months it concerns, `2026-09`…), `note` (Vietnamese) and `meeting_id` (the late meeting's, else None), in the
    strip's order (a shared note where its first month is)."""
    items: list[dict[str, Any]] = []
    added: dict[str, dict[str, Any]] = {}
    for month in months:
        late = month.get("late_change")
        if not late:
            continue
        period = str(month["period"])
        if late.get("kind") == "unit_added" and late.get("new_score") is not None:
            day = format_short_date(late.get("first_changed_at") or late["changed_at"])
            if day in added:
                added[day]["periods"].append(period)
                added[day]["lates"].append(late)
                continue
            added[day] = {"periods": [period], "lates": [late], "meeting_id": None, "day": day}
            items.append(added[day])
            continue
        items.append(
            {"periods": [period], "note": late_change_note(period, late), "meeting_id": late.get("meeting_id")}
        )
    for item in added.values():
        periods, lates, day = item.pop("periods"), item.pop("lates"), item.pop("day")
        item["periods"] = periods
        if len(periods) == 1:
            item["note"] = late_change_note(periods[0], lates[0])
            continue
        results = [f"{format_number(late['new_score'])} ({format_rating(late['new_rating'])})" for late in lates]
        first = period_within(periods[0])
        if len(set(results)) == 1:
            months_named = joined([period_within(period) for period in periods])
            item["note"] = _(LATE_ADDED_SAME, day=day, first=first, months=months_named, new=results[0])
        else:
            each = [
                _(LATE_ADDED_RESULT, month=period_within(period), new=result)
                for period, result in zip(periods, results, strict=True)
            ]
            item["note"] = _(LATE_ADDED_EACH, day=day, first=first, results=joined(each))
    return items


NO_THEMATIC_REASON = N_("Poor because no thematic meeting was held in the quarter (each quarter needs at least one)")
NO_THEMATIC_BAND_REASON = N_(
    "%(rating)s although its score reaches %(band)s: no thematic meeting was held in the quarter (each quarter needs"
    " at least one)"
)
"""The thematic rule's reason naming the band the score reached (evaluation's `band`): a trial read "Kém dù điểm
cao" beside a quarter's 55,8, which is Average, not high (trial 22 #4)."""
MEETING_RATING_REASON = N_(
    "%(rating)s although its score reaches %(band)s: the month takes its meeting's rating, lowered because a required"
    " criterion is short of full points"
)
"""A month rated as its meeting, whose framework's gates lowered it below its score's band (evaluation's
`rating_reason` code `meeting_rating`): the report CSV's "Lý do xếp loại" said nothing for it."""
MONTHS_REASON = {
    "all_at_least": N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is %(missed)s only when every month is"
        " %(floor)s or better, and %(months)s fell short (rated month by month, not by the mean score)"
    ),
    "count_at_least": N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is %(missed)s only with at least %(needed)s"
        " months %(floor)s or better, and it has %(count)s (rated month by month, not by the mean score)"
    ),
    "count_at_least_ended": N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is %(missed)s only with at least %(needed)s"
        " months %(floor)s or better, and it had only %(count)s (rated month by month, not by the mean score)"
    ),
    "max_poor": N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is %(missed)s only with at most %(needed)s"
        " Poor months, and %(months)s were Poor (rated month by month, not by the mean score)"
    ),
    "no_poor": N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is %(missed)s only without a Poor month, and"
        " %(months)s was Poor (rated month by month, not by the mean score)"
    ),
    None: N_(
        "%(rating)s although its score reaches %(band)s: a %(period)s is rated month by month, not by the mean score"
    ),
}
PERIOD_KINDS = {"quarter": N_("quarter"), "year": N_("year")}


def joined(parts: list[str]) -> str:
    """Items as Vietnamese lists them: `A, B và C`."""
    if len(parts) < 2:
        return "".join(parts)
    return _("%(items)s and %(last)s", items=", ".join(parts[:-1]), last=parts[-1])


def ended(period: str) -> bool:
    """Whether `period` (`2026-Q3`, `2026`, …) has ended by now in Vietnam; False for no period or an unknown form."""
    try:
        return not is_running(period, datetime.now(VIETNAM_TZ))
    except ValueError:
        return False


def rating_reason(row: dict[str, Any] | None, period: str | None = None) -> str | None:
    """Why a cell's period is rated below its score's band, in one sentence for every page and export (the cell's
    page, the committee's weakest cells and cells, the report's CSV and PDF), worded from evaluation's
    `rating_reason` (RatingReasonReply: evaluation owns the rules of DOMAIN.md "Periods" and says which one set the
    rating; nothing is judged again here): an ended quarter without a thematic meeting, or the month-by-month rule
    and the months it failed on; for a year above them, its quarters Poor for want of a thematic meeting. `period`:
    the row's own unless given (a ranking line has none). A half-year's line (its `quarter_ratings`) gives its
    quarters' reasons (half_year_reason). None without a reason (the score's band is the rating) or a rating."""
    if row and row.get("quarter_ratings") is not None:
        return half_year_reason(row)
    reason = (row or {}).get("rating_reason")
    if not reason or not row or not row.get("rating"):
        return None
    if reason.get("code") == "quarters_without_thematic" and reason.get("quarters"):
        quarters = [period_within(quarter) for quarter in reason["quarters"]]
        # a year not lowered by its ended quarters Poor for their missing thematic meeting (DOMAIN.md "Periods" rates
        # a year from its months only): a trial read Quý IV/2025 Kém and Năm 2025 Tốt over the same one month, the
        # year with no word why
        return n_(
            "%(rating)s although %(quarters)s was rated Poor for want of a thematic meeting (each quarter needs at"
            " least one): a year is rated month by month, and its rule does not count thematic meetings",
            "%(rating)s although %(quarters)s were rated Poor for want of a thematic meeting (each quarter needs at"
            " least one): a year is rated month by month, and its rule does not count thematic meetings",
            len(quarters),
            rating=format_rating(row["rating"]),
            quarters=joined(quarters),
        )
    if reason.get("code") == "meeting_rating":
        band = reason.get("band")
        return _(MEETING_RATING_REASON, rating=format_rating(row["rating"]), band=format_rating(band))
    if reason.get("code") == "no_thematic_meeting":
        band = reason.get("band")
        if band in RATINGS and band != row["rating"]:
            return _(NO_THEMATIC_BAND_REASON, rating=format_rating(row["rating"]), band=format_rating(band))
        return _(NO_THEMATIC_REASON)
    period = str(period or row.get("period") or "")
    condition = reason.get("condition")
    months = [period_within(month) for month in reason.get("months") or []]
    if condition == "max_poor" and reason.get("needed") == 0:
        condition = "no_poor"
    if condition not in MONTHS_REASON or (condition in ("all_at_least", "max_poor", "no_poor") and not months):
        condition = None
    if condition == "count_at_least" and ended(period):
        condition = "count_at_least_ended"  # "chỉ có" for a closed period, "mới có" only while it runs
    return _(
        MONTHS_REASON[condition],
        rating=format_rating(row["rating"]),
        band=format_rating(reason.get("band")),
        period=_(PERIOD_KINDS["quarter" if "-Q" in period else "year"]),
        missed=format_rating(reason.get("missed")),
        floor=format_rating(reason.get("floor")),
        months=joined(months),
        count=reason.get("count"),
        needed=reason.get("needed"),
    )


QUARTER_REASON = N_("%(quarter)s rated %(reason)s")
"""A half-year's reason for one of its quarters: `Quý I/2026 xếp loại Khá dù điểm đạt mức Tốt: …`."""


def half_year_reason(row: Mapping[str, Any]) -> str | None:
    """Why a half-year line's quarters (evaluation's `quarter_ratings`, its `quarter_reasons`) are rated below their
    scores' bands, in one sentence: a half-year has no rating of its own (DOMAIN.md "Periods" rates months, quarters
    and years), so each rated quarter with a reason says it as its own row does (rating_reason), named, in order and
    joined by `; `. None when no quarter has one (every quarter's band is its rating)."""
    reasons = row.get("quarter_reasons") or {}
    parts = []
    for quarter, rating in sorted((row.get("quarter_ratings") or {}).items()):
        said = rating_reason({"period": quarter, "rating": rating, "rating_reason": reasons.get(quarter)})
        if rating and said:
            parts.append(_(QUARTER_REASON, quarter=format_period(quarter), reason=said))
    return "; ".join(parts) or None


THEMATIC_COVERAGE_LABELS = {
    "month": N_("Share of cells that held a thematic meeting in the month"),
    "quarter": N_("Share of cells that held a thematic meeting in the quarter"),
    "half": N_("Share of cells that held at least one thematic meeting in the half-year"),
    "year": N_("Share of cells that held at least one thematic meeting in the year"),
}
"""What the thematic coverage counts in each kind of period (evaluation's `thematic_coverage`: the cells with a held
thematic or combined meeting in the period over the cells rated). DOMAIN.md asks one a quarter, so a half-year's or a
year's figure is "at least one" in it, not every quarter: a trial read a year's 100 % beside a quarter rated Kém for
want of one."""


def thematic_coverage_label(period: str) -> str:
    """The thematic coverage's label for `period` (`2026-11`, `2026-Q4`, `2026-H1`, `2026`), saying what it counts
    (THEMATIC_COVERAGE_LABELS), as the committee page and the report's PDF write it; without a period the bare label."""
    if not period:
        return _("Thematic coverage")
    kind = "quarter" if "-Q" in period else "half" if "-H" in period else "month" if len(period) == 7 else "year"
    return _(THEMATIC_COVERAGE_LABELS[kind])


def globals_() -> dict[str, Any]:
    """Label helpers for templates."""
    return {
        "not_met_label": not_met_label,
        "late_change_note": late_change_note,
        "late_changes_title": late_changes_title,
        "late_change_items": late_change_items,
        "late_change_badge": late_change_badge,
        "rating_reason": rating_reason,
        "rating_label": rating_label,
        "met_base": met_base,
        "running_note": running_note,
        "thematic_coverage_label": thematic_coverage_label,
        "recalculating_note": recalculating_note,
        "half_year_no_rating": half_year_no_rating,
        "quarters_rating_counts": quarters_rating_counts,
        "kind_label": lambda value: label("kind", value),
        "meeting_summary": meeting_summary,
        "status_label": meeting_status_label,
        "held_recorded_note": held_recorded_note,
        "minutes_label": minutes_label,
        "attendance_label": lambda value: label("attendance", value),
        "absence_reason": absence_reason,
        "document_label": lambda value: label("document", value),
        "local_date": lambda value: f"{local(parse_moment(value)):%Y-%m-%d}" if value else "",  # type: ignore[arg-type]
        "local_time": lambda value: f"{local(parse_moment(value)):%H:%M}" if value else "",  # type: ignore[arg-type]
    }


def filters() -> dict[str, Any]:
    """The formats as Jinja filters."""
    return {
        "moment": format_moment,
        "clock": format_clock,
        "day": format_day,
        "short_date": format_short_date,
        "number": format_number,
        "share": format_share,
        "period": format_period,
        "period_within": period_within,
        "after_dash": after_dash,
        "rating": format_rating,
        "rating_counts": rating_counts,
        "quarter_ratings": quarter_ratings_text,
    }
