"""The run's workbook, written as a stream of SpreadsheetML rows (no cell objects).

A province's run has millions of cells; building them as objects (openpyxl's normal mode)
took most of the run and its memory (docs/benchmarks.md). Each sheet is written straight
into the zip, row by row, with inline strings and two styles (bold header, yuan
``#,##0.00``), so time and memory grow with the rows written and nothing else. The zip
entries carry fixed timestamps and the document fixed dates, so equal inputs give equal
bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: cell styles (cellXfs index): plain, bold header, yuan with two decimals (builtin 4)
PLAIN, BOLD, YUAN = 0, 1, 2
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_FROZEN = (
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
    'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" '
    'sqref="A2"/></sheetView></sheetViews>'
)
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed anywhere in XML 1.0
_FIXED_DATE = "2000-01-01T00:00:00Z"

#: a cell: a value (str, int, float; None or "" leave it empty) and its style
Cell = tuple[object, int]


def _col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


_COLS = [_col(i) for i in range(64)]


def _text(s: str) -> str:
    if not s.isprintable():
        s = _ILLEGAL.sub("", s)
    if "&" in s or "<" in s or ">" in s:
        s = escape(s)
    return s


def _row_xml(n: int, cells: Iterable[Cell]) -> str:
    parts = [f'<row r="{n}">']
    add = parts.append
    for j, (v, style) in enumerate(cells):
        if v is None or v == "":
            continue
        ref = f"{_COLS[j] if j < 64 else _col(j)}{n}"
        s = f' s="{style}"' if style else ""
        t = type(v)
        if t is int or t is float:
            add(f'<c r="{ref}"{s}><v>{v!r}</v></c>')
            continue
        text = str(v)
        space = ' xml:space="preserve"' if text != text.strip() else ""
        add(f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_text(text)}</t></is></c>')
    add("</row>")
    return "".join(parts)


class Sheet:
    """One worksheet: a title, whether its first row is frozen, and its rows of cells."""

    def __init__(self, title: str, rows: Iterator[list[Cell]], *, freeze_header: bool = False):
        self.title = title
        self.rows = rows
        self.freeze_header = freeze_header


def write_workbook(sheets: list[Sheet], *, creator: str = "pvledger") -> bytes:
    """The .xlsx bytes of the sheets; each sheet's rows are streamed into the zip."""
    buf = io.BytesIO()
    n = len(sheets)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        _put(z, "[Content_Types].xml", _content_types(n))
        _put(
            z,
            "_rels/.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            "</Relationships>",
        )
        _put(z, "docProps/core.xml", _core(creator))
        sheet_list = "".join(
            f'<sheet name="{escape(sh.title, {chr(34): "&quot;"})}" sheetId="{i}" r:id="rId{i}"/>'
            for i, sh in enumerate(sheets, start=1)
        )
        _put(
            z,
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheet_list}</sheets>'
            "</workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        rels += f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        _put(
            z,
            "xl/_rels/workbook.xml.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}">{rels}</Relationships>',
        )
        _put(z, "xl/styles.xml", _STYLES)
        for i, sheet in enumerate(sheets, start=1):
            with z.open(_info(f"xl/worksheets/sheet{i}.xml"), "w") as f:
                f.write(f'{_HEAD}<worksheet xmlns="{_MAIN}">'.encode())
                if sheet.freeze_header:
                    f.write(_FROZEN.encode())
                f.write(b"<sheetData>")
                chunk: list[str] = []
                for r, cells in enumerate(sheet.rows, start=1):
                    chunk.append(_row_xml(r, cells))
                    if len(chunk) >= 2000:
                        f.write("".join(chunk).encode())
                        chunk.clear()
                f.write("".join(chunk).encode())
                f.write(b"</sheetData></worksheet>")
    return buf.getvalue()


def _content_types(n: int) -> str:
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    return (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.'
        'openxmlformats-package.core-properties+xml"/>'
        f"{overrides}</Types>"
    )


def _core(creator: str) -> str:
    return (
        f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
        '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(creator)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_FIXED_DATE}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_FIXED_DATE}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _info(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zi


def _put(z: zipfile.ZipFile, name: str, text: str) -> None:
    z.writestr(_info(name), text.encode("utf-8"))
