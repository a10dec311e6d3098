"""File writers of batch exports: CSV (UTF-8, UTF-8 with BOM for Excel, or GBK), XLSX
(openpyxl write-only), JSON Lines and Parquet (pyarrow). Each takes already masked rows a
chunk at a time and keeps nothing of them, so an export runs in constant memory whatever
its size."""

from __future__ import annotations

import csv
import io
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


class RowWriter(Protocol):
    """Takes rows as value lists in the order of the writer's columns."""

    def write(self, rows: list[list[Any]]) -> None: ...

    def close(self) -> None: ...


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CsvWriter:
    def __init__(self, path: Path, columns: list[OutColumn], encoding: CsvEncoding) -> None:
        python_encoding = {
            CsvEncoding.UTF8: "utf-8",
            CsvEncoding.UTF8_BOM: "utf-8-sig",
            CsvEncoding.GBK: "gbk",
        }[encoding]
        self._file = path.open("w", encoding=python_encoding, newline="", errors="strict")
        self._codes = [c.code for c in columns]
        self._csv = csv.writer(self._file)
        self._csv.writerow(self._codes)
        self._encoding = encoding
        self._row = 0

    def write(self, rows: list[list[Any]]) -> None:
        for row in rows:
            self._row += 1
            values = [_text(v) for v in row]
            try:
                self._csv.writerow(values)
            except UnicodeEncodeError as exc:
                item = next(
                    (c for c, v in zip(self._codes, values, strict=True) if not _encodes(v)), ""
                )
                raise ValidationFailed(
                    f"第{self._row}行的信息项“{item}”含有GBK无法表示的字符，请改用UTF-8导出",
                    f"row {self._row}, item '{item}' has characters GBK cannot represent; "
                    "export as UTF-8",
                    code="export_not_gbk",
                    field=item,
                    row=self._row,
                ) from exc

    def close(self) -> None:
        self._file.close()


def _encodes(value: str) -> bool:
    try:
        value.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


class JsonLinesWriter:
    def __init__(self, path: Path, columns: list[OutColumn]) -> None:
        import orjson

        self._dumps = orjson.dumps
        self._file = path.open("wb")
        self._codes = [c.code for c in columns]

    def write(self, rows: list[list[Any]]) -> None:
        buf = io.BytesIO()
        codes = self._codes
        for row in rows:
            buf.write(self._dumps(dict(zip(codes, row, strict=True))))
            buf.write(b"\n")
        self._file.write(buf.getvalue())

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

    def write(self, rows: list[list[Any]]) -> None:
        for row in rows:
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

    def write(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        data: dict[str, list[Any]] = {}
        for n, col in enumerate(self._columns):
            values = [row[n] for row in rows]
            if col.kind == "string":
                values = [None if v is None else _text(v) for v in values]
            data[col.code] = values
        self._writer.write_table(self._pa.Table.from_pydict(data, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


def open_writer(
    fmt: ExportFormat, path: Path, columns: list[OutColumn], encoding: CsvEncoding
) -> RowWriter:
    if fmt is ExportFormat.CSV:
        return CsvWriter(path, columns, encoding)
    if fmt is ExportFormat.XLSX:
        return XlsxWriter(path, columns)
    if fmt is ExportFormat.JSONL:
        return JsonLinesWriter(path, columns)
    return ParquetWriter(path, columns)
