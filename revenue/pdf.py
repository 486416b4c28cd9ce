"""PDF helpers shared by the notice (公示) and the annual statements: a CJK font, styles,
tables and the page footer, with reportlab.

Chinese text needs a TrueType font embedded in the file, so a printed sheet looks the same
on any machine. reportlab embeds TrueType outlines only; Debian's Noto CJK fonts are CFF
(PostScript outlines) and are refused, so the fonts below are tried in order; the install
step (scripts/test, scripts/demo) installs the first (``fonts-wqy-microhei``). Without any
of them nothing is written (FontMissing names the package): reportlab's non-embedded CID
font STSong-Light was tried and is not a way out, since poppler then needs poppler-data to
show or extract the text, and a viewer without the Adobe fonts shows nothing.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle
from reportlab.platypus.flowables import Flowable

#: TrueType CJK fonts (path, index in a .ttc), first found wins; with the Debian package
FONTS: tuple[tuple[str, int, str], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, "fonts-wqy-microhei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
)
FONT_NAME = "pvledger-cjk"


class FontMissing(RuntimeError):
    """No TrueType CJK font is installed: nothing is written (exit 1, the fix named)."""


@functools.cache
def cjk_font() -> str:
    """The registered name of the CJK font to write with (see the module docstring)."""
    from reportlab.pdfbase.ttfonts import TTFont

    for path, index, _package in FONTS:
        if Path(path).exists():
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
            return FONT_NAME
    raise FontMissing(
        "no TrueType CJK font for the PDF: install one, e.g. "
        f"`apt-get install {FONTS[0][2]}` ({', '.join(p for p, _, _ in FONTS)})"
    )


def style(size: float = 10, *, align: int = 0, leading: float | None = None) -> ParagraphStyle:
    """A paragraph style in the CJK font; CJK wrapping (a line may break between any two
    characters); align 0 left, 1 centre, 2 right."""
    return ParagraphStyle(
        f"s{size}-{align}",
        fontName=cjk_font(),
        fontSize=size,
        leading=leading or size * 1.35,
        alignment=align,
        wordWrap="CJK",
    )


def para(text: str, size: float = 10, *, align: int = 0) -> Paragraph:
    """A paragraph of plain text (escaped: a name with '<' or '&' stays text)."""
    from xml.sax.saxutils import escape

    return Paragraph(escape(text), style(size, align=align))


def table(
    rows: Sequence[Sequence[object]],
    widths_mm: Sequence[float],
    *,
    right: Sequence[int] = (),
    total_rows: int = 0,
    size: float = 9,
) -> Table:
    """A ruled table; the first row is the header, repeated on every page; ``right`` are
    the columns aligned right (amounts); the last ``total_rows`` rows are set apart."""
    cells = [
        [
            c if isinstance(c, Flowable) else para(str(c), size, align=2 if j in right else 0)
            for j, c in enumerate(row)
        ]
        for row in rows
    ]
    t = Table(cells, colWidths=[w * mm for w in widths_mm], repeatRows=1)
    cmds = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total_rows:
        cmds.append(("LINEABOVE", (0, -total_rows), (-1, -total_rows), 1.2, colors.black))
    t.setStyle(TableStyle(cmds))
    return t


def render(
    story: Callable[[], list[Flowable]],
    *,
    title: str,
    footer: Callable[[int], str],
    margins_mm: float = 15,
) -> bytes:
    """The A4 PDF of the story ``story()`` makes (called twice: the first pass counts the
    pages, and a build uses its flowables up); ``footer(page)`` and "page n / N" are
    printed at the foot of every page. Invariant: equal inputs give equal bytes."""

    def build(total: int | None) -> tuple[bytes, int]:
        buf = io.BytesIO()
        pages = [0]

        def on_page(canvas, doc) -> None:
            pages[0] = doc.page
            canvas.saveState()
            canvas.setFont(cjk_font(), 8)
            of = f" / {total}" if total else ""
            canvas.drawCentredString(A4[0] / 2, 8 * mm, f"{footer(doc.page)}  第 {doc.page}{of} 页")
            canvas.restoreState()

        doc = SimpleDocTemplate(
            buf,
            pagesize=A4,
            leftMargin=margins_mm * mm,
            rightMargin=margins_mm * mm,
            topMargin=margins_mm * mm,
            bottomMargin=(margins_mm + 5) * mm,
            title=title,
            author="pvledger",
            creator="pvledger",
            invariant=1,
            initialFontName=cjk_font(),  # else every page names Helvetica, never embedded
        )
        doc.build(story(), onFirstPage=on_page, onLaterPages=on_page)
        return buf.getvalue(), pages[0]

    _, total = build(None)  # first pass counts the pages
    data, _ = build(total)
    return data
