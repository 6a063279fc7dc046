"""The bulletin in the media types it is offered in: JSON, CSV (for Excel: UTF-8 with a BOM)
and an XLSX workbook a clerk can print (openpyxl). Both spreadsheets hold the same three
blocks, 各单位指标, 表扬 and 批评, from the same rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from api.bulletin.schemas import MonthlyBulletin
from api.kit.errors import NotAcceptable
from api.kit.i18n import Message
from api.kit.timeutil import local
from api.policies.templates import ROLE_NAMES
from api.stats.schemas import Figures

JSON = "application/json"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFFERED = (JSON, CSV, XLSX)  # in order of preference when the client likes several as much
SUFFIX = {CSV: "csv", XLSX: "xlsx"}
NONE = "—"  # a rate with nothing to count yet

Value = str | int | float | None


@dataclass(frozen=True)
class Column:
    """A column of a printed table: its Chinese header, width in characters, and whether it
    holds rates (shown as percentages)."""

    header: str
    width: float
    percent: bool = False


@dataclass(frozen=True)
class Table:
    """One block of the bulletin: a CSV section and an XLSX sheet."""

    name: str
    columns: tuple[Column, ...]
    rows: list[list[Value]]


def negotiate(accept: str | None) -> str:
    """The offered media type the `Accept` header likes best (RFC 9110 §12.5.1: the most
    specific matching range gives an offer its quality); 406 when it likes none."""
    ranges: list[tuple[str, str, float]] = []
    for part in (accept or "*/*").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        kind, _, sub = media.lower().partition("/")
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((kind, sub or "*", quality))
    if not ranges:
        return JSON
    best, best_quality = None, 0.0
    for offer in OFFERED:
        kind, _, sub = offer.partition("/")
        matches = [
            (specificity, q)
            for k, s, q in ranges
            if (specificity := _specificity(k, s, kind, sub)) is not None
        ]
        quality = max(matches)[1] if matches else 0.0
        if quality > best_quality:
            best, best_quality = offer, quality
    if best is None:
        raise NotAcceptable(
            Message("The bulletin is offered as {names}.", names=", ".join(OFFERED)),
            available=list(OFFERED),
        )
    return best


def _specificity(kind: str, sub: str, offer_kind: str, offer_sub: str) -> int | None:
    if kind == offer_kind and sub == offer_sub:
        return 2
    if kind == offer_kind and sub == "*":
        return 1
    if kind == "*" and sub == "*":
        return 0
    return None


def _rate_cells(figures: Figures) -> list[Value]:
    r = figures.rates
    return [
        r.on_time_disposition.rate,
        r.on_time_completion.rate,
        r.satisfaction.rate,
        r.first_visit_resolution.rate,
        r.repeat.rate,
        r.skip_level.rate,
        r.arrival_on_time.rate,
    ]


def _figure_row(rank: Value, name: str, figures: Figures) -> list[Value]:
    return [
        rank,
        name,
        figures.cases,
        figures.collective,
        *_rate_cells(figures),
        figures.arrivals.missed,
        figures.open_overdue,
    ]


def _clock(at: datetime) -> str:
    return f"{local(at):%Y-%m-%d %H:%M}"


def tables(bulletin: MonthlyBulletin) -> list[Table]:
    """The blocks of the bulletin as printed: figures per unit (ranked, then the unit's own
    total), the month's cases by category, praise, criticism."""
    figures = Table(
        "各单位指标",
        (
            Column("排名", 6),
            Column("单位", 22),
            Column("信访总量", 10),
            Column("集体访", 8),
            Column("按时处置率", 11, percent=True),
            Column("按期办结率", 11, percent=True),
            Column("满意率", 9, percent=True),
            Column("初信初访一次办结率", 12, percent=True),
            Column("重复访率", 9, percent=True),
            Column("越级访率", 9, percent=True),
            Column("到位及时率", 11, percent=True),
            Column("到位超时(次)", 11),
            Column("超期未结(件)", 11),
        ),
        [_figure_row(item.rank, item.unit.name, item.summary) for item in bulletin.units]
        + [_figure_row(None, f"{bulletin.unit.name}(合计)", bulletin.totals)],
    )
    categories = Table(
        "信访事项分类",
        (
            Column("大类", 14),
            Column("类别", 18),
            Column("件数", 8),
            Column("占比", 8, percent=True),
        ),
        [[c.group, c.name, c.cases, c.share] for c in bulletin.categories],
    )
    praise = Table(
        "表扬",
        (
            Column("序号", 6),
            Column("单位", 22),
            Column("信访总量", 10),
            Column("按期办结率", 11, percent=True),
            Column("表扬事由", 60),
        ),
        [
            [n, p.unit.name, p.cases, p.on_time_completion.rate, p.reason]
            for n, p in enumerate(bulletin.praise, start=1)
        ],
    )
    c = bulletin.criticism
    rows: list[list[Value]] = []
    for a in c.missed_arrivals:
        who = f"{a.official_name or ''}({ROLE_NAMES.get(a.role, a.role)})"
        rows.append(
            [
                "到位超时",
                a.unit_name,
                who,
                a.case_number,
                _clock(a.due_at),
                "未在到位时限内到场接访",
            ]
        )
    for m in c.missed_settlements:
        who = f"{m.official_name or ''}({ROLE_NAMES.get(m.role, m.role)})"
        rows.append(
            [
                "事要解决超期",
                m.unit_name,
                who,
                m.case_number,
                _clock(m.due_at),
                "赴现场接待后未在时限内交办并落实包案领导",
            ]
        )
    lapsed = {
        "late": "逾期送达",
        "not_served": "月末未送达",
        "no_proof": "送达无回证",
    }
    for n in c.notice_lapses:
        when = _clock(n.served_at) if n.served_at else "未送达"
        rows.append(
            [
                "书面告知",
                n.unit_name,
                None,
                n.case_number,
                _clock(n.due_at) if n.due_at else None,
                f"{n.number}{lapsed[n.lapse]}(送达:{when})",
            ]
        )
    for o in c.overdue_cases:
        state = (
            "月末仍未办结" if o.open_at_month_end else f"已于{_clock(o.handled_at or o.due_at)}办结"
        )
        rows.append(
            [
                "超期办理",
                o.unit_name,
                o.official_name,
                o.case_number,
                _clock(o.due_at),
                f"超过办理时限{o.days_over}天，{state}",
            ]
        )
    for v in c.vetoes:
        rows.append(
            ["一票否决", v.unit_name, None, "、".join(v.case_numbers), None, "；".join(v.rules)]
        )
    criticism = Table(
        "批评",
        (
            Column("序号", 6),
            Column("类别", 10),
            Column("单位", 22),
            Column("责任人", 20),
            Column("案件编号", 18),
            Column("时限", 17),
            Column("情况", 50),
        ),
        [[n, *row] for n, row in enumerate(rows, start=1)],
    )
    return [figures, categories, praise, criticism]


def _text(value: Value, column: Column) -> str:
    if value is None:
        return NONE if column.percent else ""
    if column.percent and isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def period_line(bulletin: MonthlyBulletin) -> str:
    """The period as printed under the title."""
    return f"统计期间：{bulletin.from_:%Y-%m-%d}至{bulletin.to:%Y-%m-%d}"


def to_csv(bulletin: MonthlyBulletin) -> bytes:
    """The bulletin as CSV: the title, then each block as its name, a header row and its
    rows, blocks apart by an empty line; UTF-8 with a BOM so that Excel reads the Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([bulletin.title])
    writer.writerow([period_line(bulletin)])
    for table in tables(bulletin):
        writer.writerow([])
        writer.writerow([table.name])
        writer.writerow([c.header for c in table.columns])
        for row in table.rows:
            writer.writerow([_text(v, c) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


THIN = Side(style="thin", color="808080")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
TITLE_ROWS = 2  # the title and the period above each sheet's header row


def _sheet(ws: Worksheet, bulletin: MonthlyBulletin, table: Table) -> None:
    width = len(table.columns)
    ws.append([bulletin.title])
    ws.append([period_line(bulletin)])
    ws.append([c.header for c in table.columns])
    for title_row in (1, 2):
        ws.merge_cells(start_row=title_row, start_column=1, end_row=title_row, end_column=width)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws["A2"].alignment = Alignment(horizontal="center")
    header = TITLE_ROWS + 1
    for head in ws[header]:
        head.font = Font(bold=True)
        head.fill = HEADER_FILL
        head.border = GRID
        head.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in table.rows:
        ws.append(
            [
                NONE if v is None and c.percent else v
                for v, c in zip(row, table.columns, strict=True)
            ]
        )
    for cells in ws.iter_rows(min_row=header + 1, max_row=ws.max_row, max_col=width):
        for cell, column in zip(cells, table.columns, strict=True):
            cell.border = GRID
            cell.alignment = Alignment(vertical="center", wrap_text=True)
            if column.percent and isinstance(cell.value, float | int):
                cell.number_format = "0.0%"
                cell.alignment = Alignment(horizontal="right", vertical="center")
    for n, column in enumerate(table.columns, start=1):
        ws.column_dimensions[get_column_letter(n)].width = column.width
    ws.freeze_panes = f"A{header + 1}"
    ws.print_title_rows = f"{header}:{header}"
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    footer = ws.oddFooter
    if footer is not None and footer.center is not None:  # always there; the stubs allow None
        footer.center.text = "第 &P 页，共 &N 页"


def to_xlsx(bulletin: MonthlyBulletin) -> bytes:
    """The bulletin as a workbook: one sheet per block, each with the title row, Chinese
    headers, set column widths, rates as percentages, and print setup (A4 landscape, fit to
    the page width, the header row repeated on every page)."""
    book = Workbook()
    for blank in book.worksheets:  # the workbook starts with an empty sheet
        book.remove(blank)
    for table in tables(bulletin):
        _sheet(book.create_sheet(table.name), bulletin, table)
    book.properties.title = bulletin.title
    book.properties.creator = "Petition Desk"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def spreadsheet(bulletin: MonthlyBulletin, media: str) -> tuple[bytes, dict[str, str]]:
    """The CSV or XLSX body and its `Content-Disposition` (an ASCII name, and the Chinese one
    per RFC 6266 / RFC 8187)."""
    body = to_csv(bulletin) if media == CSV else to_xlsx(bulletin)
    suffix = SUFFIX[media]
    name = f"{bulletin.unit.name}信访工作月度通报-{bulletin.month}.{suffix}"
    disposition = (
        f'attachment; filename="bulletin-{bulletin.month}.{suffix}"; '
        f"filename*=UTF-8''{quote(name)}"
    )
    return body, {"Content-Disposition": disposition}
