"""File writers of batch exports: CSV (UTF-8, UTF-8 with BOM for Excel, or GBK), XLSX
(openpyxl write-only), JSON Lines and Parquet (pyarrow). Each takes already masked rows a
chunk at a time, as columns (the way they are masked), and keeps nothing of them, so an
export runs in constant memory whatever its size."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from govshare.kernel.errors import ValidationFailed


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"
    PARQUET = "parquet"


class CsvEncoding(StrEnum):
    UTF8 = "utf-8"
    UTF8_BOM = "utf-8-bom"  # Excel opens it as UTF-8
    GBK = "gbk"  # for older desktop software; refused when a value has no GBK form


MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.JSONL: "application/x-ndjson",
    ExportFormat.PARQUET: "application/vnd.apache.parquet",
}
XLSX_MAX_ROWS = 1_048_575  # data rows per sheet under the header


@dataclass(frozen=True)
class OutColumn:
    code: str
    kind: str  # "int64", "bool" or "string": how the masked value leaves


Columns = Sequence[Sequence[Any]]  # a chunk, column-major: columns[i][r] is row r's value i


class ChunkWriter(Protocol):
    """Takes a chunk of rows as columns, in the order of the writer's columns."""

    def write(self, columns: Columns, count: int) -> None: ...

    def close(self) -> None: ...


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_STR = {str}


def _texts(values: Sequence[Any]) -> Sequence[str]:
    return values if set(map(type, values)) == _STR else [_text(v) for v in values]


def csv_text(columns: Columns, count: int) -> str:
    """``count`` rows, given as columns, exactly as ``csv.writer`` (excel dialect: minimal
    quoting, CRLF) writes them with every value as ``_text``. When no value holds a comma,
    a double quote or a line break (the usual case: nothing to quote), the rows are joined
    directly, which is several times faster; otherwise csv.writer writes the chunk."""
    width = len(columns)
    if width > 1:  # (a row of one empty field is quoted: csv.writer handles one column)
        try:
            body = "\r\n".join(map(",".join, zip(*columns, strict=True)))
        except TypeError:  # a value that is not text
            columns = [_texts(c) for c in columns]
            body = "\r\n".join(map(",".join, zip(*columns, strict=True)))
        if (
            '"' not in body
            and body.count(",") == count * (width - 1)
            and body.count("\n") == count - 1
            and body.count("\r") == count - 1
        ):
            return body + "\r\n"
    else:
        columns = [_texts(c) for c in columns]
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(zip(*columns, strict=True) if columns else [()] * count)
    return buf.getvalue()


RowsText = Callable[[Sequence[Sequence[Any]]], str | None]


def csv_rows(
    sources: Sequence[tuple[str, dict[str, Any]]],
    checks: Mapping[int, Callable[[list[Any]], bool]] | None = None,
) -> RowsText | None:
    """One compiled function for a chunk of driver rows: the CSV text of the rows (what
    ``csv_text`` writes of their masked columns) with each value masked inline by its
    ``text_source``, in one expression per row (no columns built, no second pass), or None
    when the chunk needs the column path: a value a rule does not take (it raises), a
    value to quote (a comma, a double quote or a line break), or a column whose
    ``checks[i]`` refuses its values. None when there is no such function (one column: an
    empty value is quoted; two sources giving one name different meanings)."""
    width = len(sources)
    if width < 2:
        return None
    names: dict[str, Any] = {"_checks": dict(checks or {})}
    fields = []
    for i, (source, used) in enumerate(sources):
        fields.append("{" + source.format(v=f"v{i}", n=f"n{i}", m=f"m{i}") + "}")
        for name, value in used.items():
            if names.setdefault(name, value) is not value:  # two meanings of one name
                return None
    row = ",".join(fields)
    take = "".join(
        f"    c{i} = [r[{i}] for r in rows]\n    if not _checks[{i}](c{i}):\n        return None\n"
        for i in sorted(checks or {})
    )
    code = (
        "def rows_text(rows):\n"
        f"{take}"
        f"    body = ''.join([f'{row}\\r\\n' for {', '.join(f'v{i}' for i in range(width))}"
        " in rows])\n"
        "    count = len(rows)\n"
        "    if ('\"' in body or body.count(',') != count * "
        f"{width - 1} or body.count('\\n') != count or body.count('\\r') != count):\n"
        "        return None\n"
        "    return body\n"
    )
    # the source is this module's and the masking rules' templates (no value, no name of
    # a column or item enters it)
    exec(compile(code, "<govshare.export.csv_rows>", "exec"), names)  # noqa: S102  # nosec B102
    return names["rows_text"]  # type: ignore[no-any-return]


def crlf_csv(data: bytes | bytearray, quoted: bool = False) -> tuple[bytes, int, bool]:
    """PostgreSQL's CSV (``COPY … TO (FORMAT csv)``: rows ended by LF) with its rows ended
    as csv.writer ends them (CRLF): every LF outside a quoted value ends a row (the server
    quotes any value holding a CR or LF, which stay as they are inside its quotes, as
    csv.writer leaves them). ``quoted``: ``data`` starts inside a quoted value (the end
    of the data before it). Returns the data, the number of rows it ends and whether it
    ends inside a quoted value. Only data holding a double quote needs to be split (a
    doubled quote inside a value leaves the value quoted: the parts between quotes at
    even places are outside)."""
    if not quoted and b'"' not in data:
        return bytes(data.replace(b"\n", b"\r\n")), data.count(b"\n"), False
    parts = bytes(data).split(b'"')
    rows = 0
    for i in range(1 if quoted else 0, len(parts), 2):
        if b"\n" in parts[i]:
            rows += parts[i].count(b"\n")
            parts[i] = parts[i].replace(b"\n", b"\r\n")
    return b'"'.join(parts), rows, quoted is (len(parts) % 2 == 1)


class CsvWriter:
    """CSV a chunk at a time (``csv_text``), encoded once per chunk (strictly: a value GBK
    cannot represent stops the export with the row and item named)."""

    def __init__(self, path: Path, columns: list[OutColumn], encoding: CsvEncoding) -> None:
        self._encoding = "gbk" if encoding is CsvEncoding.GBK else "utf-8"
        self._file = path.open("wb")
        self._codes = [c.code for c in columns]
        self._row = 0
        if encoding is CsvEncoding.UTF8_BOM:
            self._file.write("\ufeff".encode())
        self._file.write(csv_text([[c] for c in self._codes], 1).encode(self._encoding))

    def write(self, columns: Columns, count: int) -> None:
        if not count:
            return
        try:
            self._file.write(csv_text(columns, count).encode(self._encoding))
        except UnicodeEncodeError as exc:
            raise self._not_encodable(columns) from exc
        self._row += count

    def write_text(self, text: str, count: int) -> bool:
        """Rows already as CSV text (``csv_rows``); False, with nothing written, when the
        encoding cannot represent them (``write`` then names the row and item)."""
        try:
            data = text.encode(self._encoding)
        except UnicodeEncodeError:
            return False
        self._file.write(data)
        self._row += count
        return True

    def write_utf8(self, data: bytes, count: int) -> bool:
        """Rows already as CSV in UTF-8 (``crlf_csv``), re-encoded to the writer's
        encoding; False, with nothing written, when it cannot represent them."""
        if self._encoding != "utf-8":
            try:
                data = data.decode("utf-8").encode(self._encoding)
            except UnicodeEncodeError:
                return False
        self._file.write(data)
        self._row += count
        return True

    def _not_encodable(self, columns: Columns) -> ValidationFailed:
        """The first row and item of the chunk whose text the encoding cannot represent."""
        where = self._row + 1, ""
        for n, row in enumerate(zip(*columns, strict=True), start=self._row + 1):
            bad = next(
                (c for c, v in zip(self._codes, row, strict=True) if not self._encodes(v)), ""
            )
            if bad:
                where = n, bad
                break
        n, item = where
        return ValidationFailed(
            f"第{n}行的信息项“{item}”含有GBK无法表示的字符，请改用UTF-8导出",
            f"row {n}, item '{item}' has characters GBK cannot represent; export as UTF-8",
            code="export_not_gbk",
            field=item,
            row=n,
        )

    def _encodes(self, value: Any) -> bool:
        try:
            _text(value).encode(self._encoding)
        except UnicodeEncodeError:
            return False
        return True

    def close(self) -> None:
        self._file.close()


class JsonLinesWriter:
    def __init__(self, path: Path, columns: list[OutColumn]) -> None:
        import orjson

        self._dumps = orjson.dumps
        self._file = path.open("wb")
        self._codes = [c.code for c in columns]

    def write(self, columns: Columns, count: int) -> None:
        if not count:
            return
        dumps, codes = self._dumps, self._codes
        lines = [dumps(dict(zip(codes, row, strict=True))) for row in zip(*columns, strict=True)]
        lines.append(b"")
        self._file.write(b"\n".join(lines))

    def close(self) -> None:
        self._file.close()


class XlsxWriter:
    def __init__(self, path: Path, columns: list[OutColumn]) -> None:
        from openpyxl import Workbook  # type: ignore[import-untyped]
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

        self._path = path
        self._illegal = ILLEGAL_CHARACTERS_RE
        self._wb = Workbook(write_only=True)
        self._codes = [c.code for c in columns]
        self._sheets = 0
        self._in_sheet = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        self._ws = self._wb.create_sheet("data" if self._sheets == 1 else f"data{self._sheets}")
        self._ws.append(self._codes)
        self._in_sheet = 0

    def _cell(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._illegal.sub("", value)
        return value

    def write(self, columns: Columns, count: int) -> None:
        if not count:
            return
        for row in zip(*columns, strict=True):
            if self._in_sheet >= XLSX_MAX_ROWS:
                self._new_sheet()
            self._ws.append([self._cell(v) for v in row])
            self._in_sheet += 1

    def close(self) -> None:
        self._wb.save(self._path)


class ParquetWriter:
    def __init__(self, path: Path, columns: list[OutColumn]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int64": pa.int64(), "bool": pa.bool_(), "string": pa.string()}
        self._pa = pa
        self._columns = columns
        self._schema = pa.schema([pa.field(c.code, types[c.kind]) for c in columns])
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")

    def write(self, columns: Columns, count: int) -> None:
        if not count:
            return
        data: dict[str, list[Any]] = {}
        for col, values in zip(self._columns, columns, strict=True):
            if col.kind == "string":
                data[col.code] = [None if v is None else _text(v) for v in values]
            else:
                data[col.code] = list(values)
        self._writer.write_table(self._pa.Table.from_pydict(data, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def open_writer(
    fmt: ExportFormat, path: Path, columns: list[OutColumn], encoding: CsvEncoding
) -> ChunkWriter:
    if fmt is ExportFormat.CSV:
        return CsvWriter(path, columns, encoding)
    if fmt is ExportFormat.XLSX:
        return XlsxWriter(path, columns)
    if fmt is ExportFormat.JSONL:
        return JsonLinesWriter(path, columns)
    return ParquetWriter(path, columns)
