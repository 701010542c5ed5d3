"""Spreadsheets in and out: reading uploaded CSV and XLSX files safely, mapping their headers to ours,
and writing CSV/XLSX files whose cells no spreadsheet takes for a formula.

Every problem a user can cause becomes a ``TableError`` with a sentence that says what is wrong:
a file that is neither CSV nor XLSX, a zip bomb, a wrong encoding, no rows, too many rows.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from .config import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB
from .refusals import Refused

MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_ROW_CHARS = 100_000  # one row of a CSV, quoted line breaks included: 200 columns of 500 characters
MAX_BLANK_ROWS = 1000
MAX_LISTED_ROWS = 10  # rows named in one message about the file's shape
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
ZIP_MAGIC = b"PK\x03\x04"


class TableError(Refused):
    """The file cannot be read as a table; the message says why."""


@dataclass(frozen=True)
class Field:
    """A column we understand: its canonical name, other names it goes by, and whether it must be there."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    label: str = ""


def normalise_header(header: str) -> str:
    """``" Quota Attainment (%) "`` → ``"quota_attainment"``: lowercase, words joined by underscores."""
    text = re.sub(r"\(.*?\)|%", " ", str(header)).strip().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _check_zip(data: bytes) -> None:
    """Refuse archives that unpack to far more than they weigh (zip bombs) before opening them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise TableError("the file looks like an XLSX workbook but is damaged") from None
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if total > MAX_UNPACKED_BYTES or (info.file_size > 1_000_000 and ratio > MAX_COMPRESSION_RATIO):
            raise TableError("the workbook unpacks to far more data than it contains; it is refused as unsafe")
    if "xl/workbook.xml" not in archive.namelist():
        raise TableError("the file is a ZIP archive but not an XLSX workbook")


def _cell_text(value) -> str:
    """A spreadsheet cell as text: dates as YYYY-MM-DD, whole numbers without ".0"."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_workbook(data: bytes) -> pd.DataFrame:
    """The first sheet of an XLSX, streamed with caps on rows and columns (a tiny file can claim a huge grid)."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        rows, blank_run = [], 0
        for row in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS + 1, values_only=True):
            values = [_cell_text(value) for value in row]
            blank_run = blank_run + 1 if not any(values) else 0
            if blank_run > MAX_BLANK_ROWS:  # the sheet claims a huge grid but its data have ended
                break
            rows.append(values)
        workbook.close()
    except Exception as error:  # openpyxl raises many types for malformed workbooks
        raise TableError(f"the workbook cannot be read ({type(error).__name__})") from None
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise TableError("the workbook's first sheet is empty")
    header = rows[0]
    while header and header[-1] == "":
        header = header[:-1]
    if len(header) > MAX_COLUMNS:
        raise TableError(f"the file has more than {MAX_COLUMNS} columns")
    if len(rows) > MAX_ROWS + 1:
        raise TableError(f"the file has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} are accepted at once")
    if any(not name for name in header):
        raise TableError("the header row has an empty column name")
    body = [(list(r) + [""] * len(header))[:len(header)] for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


_LINE_END = re.compile(r"\r\n|\r|\n")


class _BoundedRecords:
    """The text's lines for ``csv.reader`` (line ends kept: ``\n``, ``\r\n`` or ``\r``), refusing a record
    (one row, its quoted line breaks included) longer than ``MAX_ROW_CHARS`` as soon as that much of it
    has been read. Lines are sliced from the text as they are asked for; nothing else is copied."""

    def __init__(self, text: str):
        self._text = text
        self._position = 0
        self.line = 0
        self._record = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        text, start = self._text, self._position
        if start >= len(text):
            raise StopIteration
        budget = MAX_ROW_CHARS + 1 - self._record
        end = _LINE_END.search(text, start, start + budget + 1)
        stop = end.end() if end else min(len(text), start + budget)
        self._position = stop
        self.line += 1
        self._record += stop - start
        if self._record > MAX_ROW_CHARS:
            raise TableError(f"line {self.line}: a row is longer than {MAX_ROW_CHARS:,} characters")
        return text[start:stop]

    def record_done(self) -> None:
        self._record = 0


def _check_csv_shape(text: str) -> str:
    """The CSV's delimiter, after one streaming pass that refuses hostile shapes before any table is built.

    pandas would build every field of a row first: one row of millions of fields, or a line of
    megabytes, cost a worker half a minute and more than a gigabyte. Here each record is read up to
    ``MAX_ROW_CHARS`` characters and ``MAX_COLUMNS`` fields, and reading stops after ``MAX_ROWS``
    rows, so the refusal costs little more than the text itself.
    """
    header = next(_BoundedRecords(text))
    delimiter = max((",", ";", "\t"), key=header.count)
    if header.count(delimiter) >= MAX_COLUMNS:
        raise TableError(f"the file has more than {MAX_COLUMNS} columns")
    source = _BoundedRecords(text)
    rows = 0
    width, too_wide = None, []  # the header's number of fields; (row number, fields) of rows with more
    try:
        for number, row in enumerate(csv.reader(source, delimiter=delimiter, skipinitialspace=True), start=1):
            source.record_done()
            if len(row) > MAX_COLUMNS:
                raise TableError(f"line {source.line}: a row has more than {MAX_COLUMNS} fields")
            if width is None:
                width = len(row)
            elif len(row) > width:
                too_wide.append((number, len(row)))
            rows += any(row)
            if rows > MAX_ROWS + 1:  # the header and MAX_ROWS rows
                raise TableError(f"the file has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} are accepted "
                                 "at once")
    except csv.Error as error:
        raise TableError(f"the CSV cannot be read: line {source.line}: {error}") from None
    if too_wide:
        raise TableError(_too_wide(too_wide, width, delimiter))
    return delimiter


def _too_wide(rows: list[tuple[int, int]], width: int, delimiter: str) -> str:
    """Rows with more fields than the header, named by row number as a spreadsheet counts them."""
    shown = [f"row {number} has {fields} fields" for number, fields in rows[:MAX_LISTED_ROWS]]
    more = f", and {len(rows) - MAX_LISTED_ROWS:,} more rows" if len(rows) > MAX_LISTED_ROWS else ""
    separator = {",": "comma", ";": "semicolon", "\t": "tab"}[delimiter]
    return (f"{'; '.join(shown)}{more}, but the header has {width}: a value that holds a {separator} must be "
            "in double quotes (\"Smith, Jr.\")")


def read_table(data: bytes, filename: str = "upload") -> pd.DataFrame:
    """Read CSV (UTF-8; comma, semicolon or tab) or XLSX bytes into a DataFrame of strings.

    Empty cells are empty strings. Raises ``TableError`` with a plain-language reason.
    """
    if not data:
        raise TableError("the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TableError(f"the file is larger than {MAX_UPLOAD_MB} MB")
    if data.startswith(ZIP_MAGIC):
        _check_zip(data)
        frame = _read_workbook(data)
    else:
        if b"\x00" in data:
            raise TableError("the file is neither a CSV text file nor an XLSX workbook")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise TableError("the file is not UTF-8 text; save it as “CSV UTF-8” or as XLSX") from None
        delimiter = _check_csv_shape(text)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter,
                                skipinitialspace=True)
        except (pd.errors.ParserError, csv.Error) as error:
            raise TableError(f"the CSV cannot be read: {str(error).splitlines()[0]}") from None
        except pd.errors.EmptyDataError:
            raise TableError("the file has no header row") from None
        frame = frame.map(lambda v: v.strip() if isinstance(v, str) else _cell_text(v))
    frame.columns = [str(c).strip() for c in frame.columns]
    if any(c.startswith("Unnamed:") for c in frame.columns) and frame.empty:
        raise TableError("the file has no header row")
    seen = set()
    for column in frame.columns:
        key = column.lower()
        if key in seen:
            raise TableError(f"the file has two columns called {column!r}")
        seen.add(key)
    frame = frame[~(frame == "").all(axis=1)].reset_index(drop=True)  # blank lines do not count
    if frame.empty:
        raise TableError("the file has a header but no rows")
    if len(frame) > MAX_ROWS:
        raise TableError(f"the file has {len(frame):,} rows; at most {MAX_ROWS:,} are accepted at once")
    return frame


def guess_mapping(headers: list[str], fields: list[Field]) -> dict[str, str | None]:
    """For each field, the file header that names it (canonical name or alias), or None."""
    by_normal = {}
    for header in headers:
        by_normal.setdefault(normalise_header(header), header)
    mapping = {}
    for field in fields:
        mapping[field.name] = next((by_normal[n] for n in (field.name, *field.aliases) if n in by_normal), None)
    return mapping


def parse_map_options(options: list[str] | tuple[str, ...], fields: list[Field]) -> dict[str, str]:
    """``--map "Their header=canonical"`` options → {canonical: their header}; ``TableError`` if malformed."""
    names = {f.name for f in fields}
    result = {}
    for option in options:
        if "=" not in option:
            raise TableError(f"--map {option!r}: write it as \"Their header=canonical\"")
        header, canonical = (part.strip() for part in option.rsplit("=", 1))
        if canonical not in names:
            raise TableError(f"--map {option!r}: {canonical!r} is not one of {', '.join(sorted(names))}")
        result[canonical] = header
    return result


def apply_mapping(frame: pd.DataFrame, fields: list[Field], chosen: dict[str, str | None]) -> pd.DataFrame:
    """Rename the file's columns to canonical names; ``TableError`` lists required fields left unmapped."""
    mapping = guess_mapping(list(frame.columns), fields)
    mapping.update({k: v for k, v in chosen.items() if k in mapping})
    for canonical, header in mapping.items():
        if header is not None and header not in frame.columns:
            raise TableError(f"the file has no column {header!r} (for {canonical})")
    used = [h for h in mapping.values() if h]
    if len(used) != len(set(used)):
        raise TableError("one column of the file is mapped to two fields")
    missing = [f.name for f in fields if f.required and not mapping.get(f.name)]
    if missing:
        raise TableError("missing column(s): " + ", ".join(missing) + " — map the file's headers to them")
    result = pd.DataFrame({name: frame[header] for name, header in mapping.items() if header})
    for field in fields:
        if field.name not in result:
            result[field.name] = ""
    return result


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# After a sign or "@": a space, then a word — the start of a bullet or a sentence, not of an expression.
_WORDS_AFTER_SIGN = re.compile(r"[+\-@] +[^\W\d_]")
# What an expression needs to reach beyond itself: a function call (a name right before "("), a DDE
# link ("cmd|…") or another sheet ("Sheet1!A1").
_FORMULA_PARTS = re.compile(r"[^\W\d][\w.]*\(|[|!]")


def escape_cell(value):
    """Neutralise text that a spreadsheet would run as a formula (OWASP CSV injection).

    For CSV, whose cells have no types: whatever begins with = + - @, a tab or a CR is prefixed.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would evaluate ``text`` typed into a cell: ``=…``, a tab or CR first, or
    a sign or "@" followed by an expression ("-2+3", "@SUM(A1)", "- 1+1", "-cmd|' /C calc'!A0").
    Words after a sign and a space ("- No clear difference …") are not an expression."""
    if not text.startswith(FORMULA_PREFIXES):
        return False
    if text[0] in "=\t\r":
        return True
    return not _WORDS_AFTER_SIGN.match(text) or bool(_FORMULA_PARTS.search(text))


def _xlsx_text(cell, text: str) -> None:
    """Write ``text`` into ``cell`` as a string cell, never a formula.

    Text starting like a formula also gets the cell's quote prefix (the hidden apostrophe a user
    types before text), so it stays text when the cell is edited; only text a spreadsheet would
    evaluate also shows an apostrophe, so that a crafted formula is visibly marked.
    """
    if text.startswith(FORMULA_PREFIXES):
        cell.quotePrefix = True
        if formula_like(text):
            text = "'" + text
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise treat a leading "=" as a formula


WRAPPED = Alignment(wrap_text=True, vertical="top")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    # Built as object columns: Series.map would infer a dtype, and a column of whole numbers with
    # gaps (a long table's counts) would come out as floats ("93.0").
    return frame.assign(**{c: pd.Series([escape_cell(v) for v in frame[c]], index=frame.index, dtype=object)
                           for c in text})


def to_csv(frame: pd.DataFrame) -> str:
    """CSV text with formula-like cells escaped."""
    buffer = io.StringIO()
    # CRLF line ends (RFC 4180): the writer then quotes any cell holding a CR or LF.
    _escaped(frame).to_csv(buffer, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return buffer.getvalue()


MAX_COLUMN_WIDTH = 60  # characters; longer text wraps
WIDTH_SAMPLE_ROWS = 500  # column widths are judged on the header and the first rows


def _set_widths(sheet) -> None:
    """Columns as wide as their header and their values (up to ``MAX_COLUMN_WIDTH``); the header frozen."""
    widths: dict[int, int] = {}
    for row in sheet.iter_rows(max_row=WIDTH_SAMPLE_ROWS + 1):
        for cell in row:
            if cell.value is not None:
                longest = max(len(line) for line in str(cell.value).splitlines() or [""])
                widths[cell.column] = max(widths.get(cell.column, 0), longest)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, MAX_COLUMN_WIDTH)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and len(cell.value) > MAX_COLUMN_WIDTH:
                cell.alignment = WRAPPED
    sheet.freeze_panes = "A2"


def to_xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An XLSX workbook with one sheet per frame; text stored as text, never formulas; columns sized."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, frame in sheets.items():
        sheet = workbook.create_sheet(title[:31])
        sheet.append([str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            cells = []
            for value in row:
                if value is None or (isinstance(value, float) and pd.isna(value)):
                    cells.append(None)
                elif isinstance(value, str):
                    cells.append(value)
                else:
                    cells.append(value.item() if hasattr(value, "item") else value)
            sheet.append(cells)
        if "note" in frame.attrs:
            sheet.append([])
            sheet.append([str(frame.attrs["note"])])
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    _xlsx_text(cell, cell.value)
        _set_widths(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
