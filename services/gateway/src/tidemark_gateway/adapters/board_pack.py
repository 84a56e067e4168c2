"""The board pack as a PDF (reportlab): a cover, then each section's charts and table; every page
headed with the Trust, the period, when it was made, the filters and the last update.

Charts are reportlab's own graphics, drawn from the section's figures (`domain.board_pack`); a
small group's bar is marked, and has no bar where its % is withheld.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tidemark_gateway.domain import tables
from tidemark_gateway.domain.board_pack import (
    SMALL_GROUP, BarChart, BoardPack, Chart, LineChart, Section, condensed, shown,
)

PDF_MEDIA_TYPE = "application/pdf"
PAGE = landscape(A4)
MARGIN = 14 * mm
WIDTH = PAGE[0] - 2 * MARGIN
MAX_COLUMNS = 10
"""Columns of a table per block: a wider report is printed in blocks, each repeating its first two columns."""
PALETTE = [colors.HexColor(code) for code in (
    "#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6", "#833c0b", "#375623", "#5b9bd5", "#a5a5a5",
)]

_STYLES = getSampleStyleSheet()
_CELL = ParagraphStyle("cell", parent=_STYLES["BodyText"], fontSize=6.5, leading=8)
_HEAD = ParagraphStyle("head", parent=_CELL, fontName="Helvetica-Bold")


_RENDERING = threading.Lock()
"""ReportLab is not thread-safe (module-level state): one pack is drawn at a time in a process."""


def write_pdf(pack: BoardPack) -> bytes:
    """The PDF of a board pack (safe to call from several threads: they take turns)."""
    with _RENDERING:
        return _write_pdf(pack)


def _write_pdf(pack: BoardPack) -> bytes:
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + 14 * mm,
        bottomMargin=MARGIN + 4 * mm, title=f"Board pack {pack.trust} {pack.academic_year} {pack.period}",
        author="Tidemark", subject="Board pack",
    )

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        _header(canvas, pack, doc.page)

    document.build(_story(pack), onFirstPage=page, onLaterPages=page)
    return out.getvalue()


def _header(canvas: Canvas, pack: BoardPack, number: int) -> None:
    top = PAGE[1] - MARGIN
    canvas.saveState()
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawString(MARGIN, top, f"{pack.trust} · Board pack · {pack.academic_year} {pack.period}")
    canvas.setFont("Helvetica", 7.5)
    made = f"Made {pack.made_at} · Last updated {pack.last_updated or 'never'}"
    canvas.drawRightString(PAGE[0] - MARGIN, top, made)
    canvas.drawString(MARGIN, top - 11, f"Filters: {_filters(pack)}")
    canvas.setStrokeColor(colors.grey)
    canvas.line(MARGIN, top - 15, PAGE[0] - MARGIN, top - 15)
    canvas.drawRightString(PAGE[0] - MARGIN, MARGIN, f"Page {number}")
    canvas.drawString(MARGIN, MARGIN, "Tidemark · % at or above: of pupils with a locked result. A small group has "
                      "fewer pupils than the Trust's threshold: its % is not a headline.")
    canvas.restoreState()


def _filters(pack: BoardPack) -> str:
    """`year_group = Y4; sex = F`, or `none` (the exports' ("filters", "none") row)."""
    if pack.filters == (("filters", "none"),):
        return "none"
    return "; ".join(f"{name} = {value}" for name, value in pack.filters)


def _story(pack: BoardPack) -> list[Flowable]:
    story: list[Flowable] = [
        Paragraph(escape(f"Board pack: {pack.trust}"), _STYLES["Title"]),
        Paragraph(escape(f"Academic year {pack.academic_year}, period {pack.period}"), _STYLES["Heading2"]),
        Paragraph(escape(f"Made {pack.made_at}. Figures last updated {pack.last_updated or 'never'}."),
                  _STYLES["BodyText"]),
        Paragraph(escape(f"Filters: {_filters(pack)}"), _STYLES["BodyText"]),
        Paragraph("Contents", _STYLES["Heading3"]),
        *(Paragraph(escape(f"{i}. {s.title}"), _STYLES["BodyText"]) for i, s in enumerate(pack.sections, 1)),
    ]
    for item in pack.sections:
        story += [PageBreak(), *_section(item)]
    return story


def _section(item: Section) -> list[Flowable]:
    about = "; ".join(f"{name}: {shown(value)}" for name, value in item.table.about if value is not None)
    flow: list[Flowable] = [Paragraph(escape(item.title), _STYLES["Heading1"]),
                            Paragraph(escape(about), _CELL), Spacer(1, 3 * mm)]
    for chart in item.charts:
        flow += [_drawing(chart), Spacer(1, 4 * mm)]
    table, common = condensed(item.table)
    if common:
        same = "; ".join(f"{name}: {shown(value)}" for name, value in common)
        flow.append(Paragraph(escape(f"On every row: {same}"), _CELL))
    flow += _tables(table)
    return flow


def _drawing(chart: Chart) -> Flowable:
    if isinstance(chart, BarChart):
        return _bars(chart) if chart.bars else Paragraph(escape(f"{chart.title}: no groups."), _CELL)
    if chart.lines and chart.categories:
        return _lines(chart)
    return Paragraph(escape(f"{chart.title}: no periods."), _CELL)


def _bar_label(bar_label: str, small: bool, value: float | None) -> str:
    if not small:
        return bar_label
    return f"{bar_label} ({SMALL_GROUP}{', % withheld' if value is None else ''})"


def _bars(chart: BarChart) -> Drawing:
    """Horizontal bars (one per group, All Pupils first), each labelled with its % and n."""
    height = 30 + 14 * len(chart.bars)
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 10, chart.title, fontName="Helvetica-Bold", fontSize=9))
    plot = HorizontalBarChart()
    plot.x, plot.y, plot.width, plot.height = 200, 10, int(WIDTH) - 320, height - 30
    bars = list(reversed(chart.bars))  # reportlab draws the first category at the bottom
    plot.data = [[bar.value if bar.value is not None else 0 for bar in bars]]
    plot.categoryAxis.categoryNames = [_bar_label(bar.label, bar.small_group, bar.value)[:60] for bar in bars]
    plot.categoryAxis.labels.fontSize = 7
    plot.categoryAxis.labels.boxAnchor = "e"
    plot.valueAxis.valueMin, plot.valueAxis.valueMax, plot.valueAxis.valueStep = 0, 100, 20
    plot.valueAxis.labels.fontSize = 7
    plot.bars[0].fillColor = PALETTE[0]
    for index, bar in enumerate(bars):
        if bar.small_group:
            plot.bars[(0, index)].fillColor = colors.lightgrey
    drawing.add(plot)
    step = plot.height / max(len(bars), 1)
    for index, bar in enumerate(bars):
        text = f"{shown(bar.value)}% (n={bar.n})" if bar.value is not None else f"no figure (n={bar.n})"
        drawing.add(String(plot.x + plot.width + 6, plot.y + step * (index + 0.5) - 3, text, fontSize=7))
    return drawing


def _lines(chart: LineChart) -> Drawing:
    """One line per group over the periods; a missing figure leaves a gap."""
    height = 190
    drawing = Drawing(WIDTH, height)
    drawing.add(String(0, height - 10, chart.title, fontName="Helvetica-Bold", fontSize=9))
    plot = HorizontalLineChart()
    plot.x, plot.y, plot.width, plot.height = 30, 30, int(WIDTH) - 250, height - 50
    plot.data = [list(line.values) for line in chart.lines]
    plot.categoryAxis.categoryNames = list(chart.categories)
    plot.categoryAxis.labels.fontSize = 6
    plot.categoryAxis.labels.angle = 30
    plot.categoryAxis.labels.boxAnchor = "ne"
    plot.valueAxis.valueMin, plot.valueAxis.valueMax, plot.valueAxis.valueStep = 0, 100, 20
    plot.valueAxis.labels.fontSize = 7
    for index, line in enumerate(chart.lines):
        color = PALETTE[index % len(PALETTE)]
        points = sum(value is not None for value in line.values)
        # a line of one point is its marker alone (reportlab draws no line through fewer than two)
        plot.lines[index].strokeColor = color if points >= 2 else None
        plot.lines[index].strokeWidth = 2 if index == 0 else 1.2
        plot.lines[index].symbol = makeMarker("FilledCircle", fillColor=color, strokeColor=color, size=3)
    drawing.add(plot)
    legend = Legend()
    legend.x, legend.y = plot.x + plot.width + 20, height - 25
    legend.fontSize, legend.dx, legend.dy = 7, 8, 8
    legend.alignment = "right"
    legend.colorNamePairs = [(PALETTE[i % len(PALETTE)], line.label[:40]) for i, line in enumerate(chart.lines)]
    drawing.add(legend)
    return drawing


def _tables(table: tables.Table) -> list[Flowable]:
    """The section's table (every row and figure of the report), in blocks of `MAX_COLUMNS` columns."""
    columns = [i for i, _ in enumerate(table.columns) if any(row[i] is not None for row in table.rows)]
    if not table.rows or not columns:
        return [Paragraph("No rows.", _CELL)]
    keys, rest = columns[:2], columns[2:]
    width = MAX_COLUMNS - len(keys)
    blocks = [keys + rest[i:i + width] for i in range(0, len(rest), width)] or [keys]
    return [flow for block in blocks for flow in (_block(table, block), Spacer(1, 3 * mm))]


def _block(table: tables.Table, indexes: Sequence[int]) -> Table:
    header = [Paragraph(escape(table.columns[i].replace(".", " › ")), _HEAD) for i in indexes]
    rows = [[Paragraph(escape(shown(row[i])), _CELL) for i in indexes] for row in table.rows]
    block = Table([header, *rows], colWidths=[WIDTH / len(indexes)] * len(indexes), repeatRows=1)
    block.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return block
