"""A notice's files: an editable Word document (python-docx) and a PDF that embeds a subset of
the project's own CJK font (fpdf2). Both are made from the notice's stored record alone, byte
for byte the same each time, so the files need not be kept to be given again."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from fpdf import FPDF

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
MEDIA = {"docx": DOCX, "pdf": PDF}
FONT_NAME = "NotoSansSC"
# The Word file names the font a Chinese office has (宋体 is on every Windows); the PDF carries
# its own.
WORD_FONT = "宋体"


@dataclass(frozen=True)
class Sheet:
    """What a notice shows: the filled fields stored with it."""

    header: str
    title: str
    number: str
    body: str
    seal: str
    issued_date: str
    issued_at: datetime

    @classmethod
    def of(cls, fields: dict[str, Any], issued_at: datetime) -> Sheet:
        """The sheet of a notice's stored fields."""
        return cls(
            header=str(fields["header"]),
            title=str(fields["title"]),
            number=str(fields["number"]),
            body=str(fields["body"]),
            seal=str(fields["seal"]),
            issued_date=str(fields["issued_date"]),
            issued_at=issued_at.astimezone(UTC),
        )


def _run_font(run: Any, size: float, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.name = WORD_FONT
    # East Asian text takes the eastAsia font, which python-docx does not set by itself.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), WORD_FONT)


def _paragraph(doc: Any, text: str, size: float, align: Any, bold: bool = False) -> None:
    paragraph = doc.add_paragraph()
    paragraph.alignment = align
    _run_font(paragraph.add_run(text), size, bold)


def _fixed_zip(data: bytes, when: datetime) -> bytes:
    """The package with every member stamped at the issue time: a zip otherwise records the
    moment it was written."""
    stamp = when.timetuple()[:6]
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(item.filename))
    return out.getvalue()


def to_docx(sheet: Sheet) -> bytes:
    """The notice as a Word document the office can edit and print."""
    doc = Document()
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = sheet.title, sheet.header, sheet.header
    props.created = props.modified = sheet.issued_at.replace(tzinfo=None)
    props.revision = 1
    center, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT
    _paragraph(doc, sheet.header, 16, center, bold=True)
    _paragraph(doc, sheet.title, 22, center, bold=True)
    _paragraph(doc, sheet.number, 12, center)
    for line in sheet.body.split("\n"):
        _paragraph(doc, line, 14, WD_ALIGN_PARAGRAPH.LEFT)
    _paragraph(doc, sheet.seal, 14, right)
    _paragraph(doc, sheet.issued_date, 14, right)
    out = io.BytesIO()
    doc.save(out)
    return _fixed_zip(out.getvalue(), sheet.issued_at)


def to_pdf(sheet: Sheet, font: Path) -> bytes:
    """The notice as a PDF on A4 embedding the subset of `font` it uses."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(sheet.issued_at)
    pdf.set_title(sheet.title)
    pdf.set_author(sheet.header)
    pdf.set_producer("Petition Desk")
    pdf.set_margins(25, 25, 25)
    pdf.add_page()
    pdf.add_font(FONT_NAME, fname=str(font))
    pdf.set_font(FONT_NAME, size=16)
    pdf.multi_cell(0, 10, sheet.header, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_NAME, size=22)
    pdf.multi_cell(0, 14, sheet.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_NAME, size=12)
    pdf.multi_cell(0, 8, sheet.number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font(FONT_NAME, size=14)
    for line in sheet.body.split("\n"):
        pdf.multi_cell(0, 9, line, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    pdf.multi_cell(0, 9, sheet.seal, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 9, sheet.issued_date, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def render(sheet: Sheet, fmt: str, font: Path) -> bytes:
    """The notice's file in `fmt` (docx or pdf)."""
    return to_docx(sheet) if fmt == "docx" else to_pdf(sheet, font)


def sha256(data: bytes) -> str:
    """The hex SHA-256 of a file."""
    return hashlib.sha256(data).hexdigest()
