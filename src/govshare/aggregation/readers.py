"""Streaming readers for uploaded files: CSV (UTF-8, UTF-8 with BOM, GBK, GB18030 detected),
XLSX (openpyxl read-only) and JSON Lines. Nothing holds the whole file in memory.

Headers map to data items by item name (Chinese) or by code; an unknown header or a missing
required item is an error that names the column.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from govshare.catalog.model import DataItemInput
from govshare.catalog.standards import normalise
from govshare.kernel.errors import ValidationFailed

SAMPLE_BYTES = 1 << 20  # encoding is decided on the first MiB
MAX_LINE_BYTES = 16 << 20  # a "line" longer than this is not a CSV row
MAX_CELL_CHARS = 100_000
csv.field_size_limit(MAX_CELL_CHARS + 1)

RawRow = dict[str, Any]

# Columns the platform adds to a quarantine download (aggregation.quarantine); ignored when
# the corrected file comes back, so that a downloaded file can be fixed and resubmitted as is.
IGNORED_HEADERS = frozenset({"错误原因", "原行号"})


class FileRejected(ValidationFailed):
    """The file as a whole cannot be read (encoding, headers, format)."""

    code = "ingest_file_rejected"


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig, utf-8, gbk or gb18030 (GB18030 is a superset of GBK; GBK is reported when
    the sample decodes as GBK, since that is what the sender most likely used)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        _reject_mixed(sample, exc)
    for enc in ("gbk", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(sample, final=False)
            return enc
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        "无法识别文件编码（支持 UTF-8、GBK、GB18030）",
        "the file's encoding is not UTF-8, GBK or GB18030",
        field="file",
    )


def _reject_mixed(sample: bytes, exc: UnicodeDecodeError) -> None:
    """A file that is UTF-8, Chinese text included, for whole lines and then is not, mixes
    encodings (e.g. GBK rows appended to a UTF-8 export): reject it naming the line, rather
    than guessing another encoding for all of it."""
    prefix = sample[: exc.start]
    line = prefix.count(b"\n") + 1
    if line > 1 and sum(1 for ch in prefix.decode("utf-8") if ord(ch) > 0x7F) >= 8:
        raise FileRejected(
            f"第{line}行编码错误：此前各行为UTF-8，该行不是（文件混用了多种编码）",
            f"row {line} is not valid UTF-8 although the rows before it are (mixed encodings)",
            field=f"row {line}",
        ) from exc


@dataclass(frozen=True)
class HeaderMap:
    codes: tuple[str | None, ...]  # per column: the item code, None for ignored columns

    @classmethod
    def build(cls, headers: list[str], items: list[DataItemInput]) -> HeaderMap:
        by_key: dict[str, str] = {}
        for item in items:
            by_key[normalise(item.name)] = item.code
            by_key[normalise(item.code)] = item.code
        codes: list[str | None] = []
        seen: set[str] = set()
        for col, header in enumerate(headers, start=1):
            h = normalise(str(header or ""))
            if not h or h in IGNORED_HEADERS:
                codes.append(None)
                continue
            code = by_key.get(h)
            if code is None:
                raise FileRejected(
                    f"第{col}列“{header}”不是该资源的信息项",
                    f"column {col} '{header}' is not a data item of this resource",
                    field=f"column {col}",
                )
            if code in seen:
                raise FileRejected(
                    f"第{col}列“{header}”重复",
                    f"column {col} '{header}' repeats",
                    field=f"column {col}",
                )
            seen.add(code)
            codes.append(code)
        missing = [
            i.name
            for i in items
            if (i.required or i.identifier.value != "none") and i.code not in seen
        ]
        if missing:
            raise FileRejected(
                f"文件缺少必填信息项列：{'、'.join(missing)}",
                f"the file lacks required item columns: {', '.join(missing)}",
                field="header",
            )
        return cls(tuple(codes))

    def row(self, values: Sequence[Any]) -> RawRow:
        out: RawRow = {}
        for code, value in zip(self.codes, values, strict=False):
            if code is not None:
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    value = value[: MAX_CELL_CHARS + 1]
                out[code] = value
        return out


Chunk = tuple[list[int], list[tuple[Any, ...]]]  # row numbers, and the rows' cells


@dataclass(frozen=True)
class Records:
    """Rows as tuples of cell values in file column order, a chunk at a time and without a
    dict per row: ``codes`` names each column's data item (None: a column the platform
    ignores); ``chunks(size)`` gives (row numbers, rows) of up to ``size`` rows. The loader
    picks the columns it needs by position."""

    codes: tuple[str | None, ...]
    chunks: Callable[[int], Iterator[Chunk]]


@dataclass
class Reader:
    rows: Iterator[tuple[int, RawRow]]
    encoding: str
    records: Records | None = None  # the same rows by position (CSV); use one or the other


BLOCK_BYTES = 1 << 18  # the file is decoded a block of whole lines at a time


def _decoded_lines(
    head: bytes, rest: IO[bytes], encoding: str, at: list[int], nul: list[bool]
) -> Iterator[str]:
    """The file's physical lines (split at LF only), decoded a block of whole lines at a time.
    A decoding error is raised once the lines before it were yielded, with ``at[0]`` set to
    the line it is on. No line may reach MAX_LINE_BYTES. ``nul[0]`` turns True once a NUL
    character was read."""
    decoder = codecs.getincrementaldecoder(encoding)()
    blocks = itertools.chain(_pieces(head), iter(lambda: rest.read(BLOCK_BYTES), b""))
    del head  # held by _pieces until it is read
    pending = b""
    for block in blocks:
        data = pending + block if pending else block
        cut = data.rfind(b"\n") + 1
        if cut == 0 or (pending and data.find(b"\n") >= MAX_LINE_BYTES):
            if len(data) >= MAX_LINE_BYTES:
                bad = at[0] + 1
                raise FileRejected(f"第{bad}行过长", f"row {bad} is too long", field=f"row {bad}")
            pending = data
            continue
        whole, pending = memoryview(data)[:cut], data[cut:]
        try:
            text = decoder.decode(whole)
        except UnicodeDecodeError:
            yield from _lines_until_bad(bytes(whole), decoder, at)
            raise
        del whole, data
        if "\x00" in text:
            nul[0] = True
        yield from io.StringIO(text, newline="\n")
        at[0] += text.count("\n")
    if pending:
        at[0] += 1
    tail = decoder.decode(pending, final=True)  # raises on a cut-off last character
    if "\x00" in tail:
        nul[0] = True
    if tail:
        yield tail


def _pieces(head: bytes) -> Iterator[bytes]:
    for n in range(0, len(head), BLOCK_BYTES):
        yield head[n : n + BLOCK_BYTES]


def _lines_until_bad(
    whole: bytes, decoder: codecs.IncrementalDecoder, at: list[int]
) -> Iterator[str]:
    """Re-decode a block that failed line by line: yield the good lines, then raise the
    error with ``at[0]`` on the bad one (as a line-at-a-time reader would). A utf-8-sig
    decoder that failed on its first block no longer drops the BOM: it comes back as
    U+FEFF at the start of line 1, which ``read_csv`` removes."""
    for line in whole.split(b"\n")[:-1]:
        at[0] += 1
        yield decoder.decode(line + b"\n")  # raises on the bad line


def read_csv(fh: IO[bytes], items: list[DataItemInput]) -> Reader:
    buffered = fh if isinstance(fh, io.BufferedReader) else io.BufferedReader(fh)  # type: ignore[type-var]
    head = buffered.read(SAMPLE_BYTES)
    encoding = detect_encoding(head)
    line_no, nul = [0], [False]
    reader = csv.reader(_decoded_lines(head, buffered, encoding, line_no, nul))
    try:
        headers = next(reader)
    except StopIteration as exc:
        raise FileRejected("文件为空", "the file is empty", field="file") from exc
    except UnicodeDecodeError as exc:
        raise FileRejected(
            "文件编码错误", f"the file is not valid {encoding}", field="file"
        ) from exc
    except csv.Error as exc:
        raise FileRejected("CSV格式错误", f"malformed CSV: {exc}", field="file") from exc
    if headers and headers[0].startswith("\ufeff"):
        headers[0] = headers[0][1:]
    header_map = HeaderMap.build(headers, items)

    def chunks(size: int) -> Iterator[Chunk]:
        row_no = 1
        numbers: list[int] = []
        rows: list[tuple[Any, ...]] = []
        try:
            for values in reader:
                row_no += 1
                first = values[0] if values else ""
                if not first or first.isspace():  # then perhaps no cell holds anything
                    joined = "".join(values)
                    if not joined or joined.isspace():
                        continue
                if nul[0] and "\x00" in "".join(values):
                    values = [v.replace("\x00", "") for v in values]
                numbers.append(row_no)
                # a tuple of strings, which the cyclic GC stops tracking (a list it scans
                # until freed); the csv module caps a cell at MAX_CELL_CHARS + 1
                rows.append(tuple(values))
                if len(rows) >= size:
                    yield numbers, rows
                    numbers, rows = [], []
        except UnicodeDecodeError as exc:
            bad = line_no[0]
            raise FileRejected(
                f"第{bad}行编码错误（文件编码识别为{encoding}）",
                f"row {bad} is not valid {encoding}",
                field=f"row {bad}",
            ) from exc
        except csv.Error as exc:
            raise FileRejected(
                f"第{row_no + 1}行CSV格式错误",
                f"row {row_no + 1}: {exc}",
                field=f"row {row_no + 1}",
            ) from exc
        if rows:
            yield numbers, rows

    def dicts() -> Iterator[tuple[int, RawRow]]:
        for numbers, rows in chunks(1):
            yield numbers[0], header_map.row(rows[0])

    return Reader(dicts(), encoding, Records(header_map.codes, chunks))


# An XLSX is a zip: what it may unpack to is checked before openpyxl opens it. Sheets are
# streamed (read-only mode), but the shared-strings part is held in memory whole.
XLSX_MAX_MEMBERS = 10_000
XLSX_MAX_UNPACKED = 4 << 30
XLSX_MAX_SHARED_STRINGS = 128 << 20
XLSX_MAX_RATIO = 200  # unpacked / packed, for members above XLSX_RATIO_FLOOR
XLSX_RATIO_FLOOR = 8 << 20


def check_xlsx_zip(path: Path) -> None:
    """Refuse a workbook that is not a zip, would unpack past the limits above (a zip bomb),
    or declares a DTD (entity expansion)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(
            "不是有效的 XLSX 文件", "not a readable XLSX file", field="file"
        ) from exc
    with zf:
        members = zf.infolist()
        total = sum(m.file_size for m in members)
        bomb = len(members) > XLSX_MAX_MEMBERS or total > XLSX_MAX_UNPACKED
        for m in members:
            if m.filename.lower().endswith("sharedstrings.xml"):
                bomb = bomb or m.file_size > XLSX_MAX_SHARED_STRINGS
            if m.file_size > XLSX_RATIO_FLOOR:
                bomb = bomb or m.file_size > XLSX_MAX_RATIO * max(m.compress_size, 1)
        if bomb:
            raise FileRejected(
                "XLSX 文件解压后过大（疑似压缩炸弹）",
                "the XLSX file unpacks to far more than its size (a zip bomb?)",
                field="file",
            )
        for m in members:
            if m.filename.endswith((".xml", ".rels")):
                try:
                    with zf.open(m) as fh:
                        head = fh.read(4096).upper()
                except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
                    raise FileRejected(
                        "不是有效的 XLSX 文件", "not a readable XLSX file", field="file"
                    ) from exc
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise FileRejected(
                        "XLSX 文件含有不安全的 XML 声明",
                        "the XLSX file holds unsafe XML (a DTD)",
                        field="file",
                    )


def read_xlsx(path: Path, items: list[DataItemInput]) -> Reader:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    check_xlsx_zip(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        raise FileRejected(
            "不是有效的 XLSX 文件", "not a readable XLSX file", field="file"
        ) from exc

    def unreadable(row: int | None, exc: Exception) -> FileRejected:
        where_zh, where_en = (f"第{row}行", f"row {row}") if row else ("", "")
        return FileRejected(
            f"XLSX 文件{where_zh}已损坏，无法读取",
            f"the XLSX file is damaged{' at ' + where_en if where_en else ''}",
            field=where_en or "file",
        )

    try:
        if not wb.worksheets:
            raise FileRejected("工作簿中没有工作表", "the workbook has no sheet", field="file")
        it = wb.worksheets[0].iter_rows(values_only=True)
        headers = [str(h) if h is not None else "" for h in next(it)]
    except StopIteration as exc:
        wb.close()
        raise FileRejected("文件为空", "the file is empty", field="file") from exc
    except FileRejected:
        wb.close()
        raise
    except Exception as exc:  # a corrupt part inside a sound zip: XML, CRC, cell types
        wb.close()
        raise unreadable(1, exc) from exc
    header_map = HeaderMap.build(headers, items)

    def rows() -> Iterator[tuple[int, RawRow]]:
        row_no = 1
        try:
            while True:
                row_no += 1
                try:
                    values = next(it)
                except StopIteration:
                    return
                except Exception as exc:  # as above, found while streaming
                    raise unreadable(row_no, exc) from exc
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                yield row_no, header_map.row(list(values))
        finally:
            wb.close()

    return Reader(rows(), "xlsx")


def read_jsonl(fh: IO[bytes], items: list[DataItemInput]) -> Reader:
    by_key: dict[str, str] = {}
    for item in items:
        by_key[normalise(item.name)] = item.code
        by_key[normalise(item.code)] = item.code

    def lines() -> Iterator[tuple[int, str]]:
        """Each line decoded on its own, so that a bad byte names its line (a text wrapper
        decodes ahead in chunks and fails outside any line); none longer than MAX_LINE_BYTES."""
        for row_no, raw in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES), b""), start=1):
            if len(raw) >= MAX_LINE_BYTES and not raw.endswith(b"\n"):
                raise FileRejected(
                    f"第{row_no}行过长", f"line {row_no} is too long", field=f"row {row_no}"
                )
            try:
                yield row_no, raw.decode("utf-8-sig" if row_no == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"第{row_no}行编码错误（JSON Lines 须为 UTF-8）",
                    f"line {row_no} is not valid UTF-8",
                    field=f"row {row_no}",
                ) from exc

    def rows() -> Iterator[tuple[int, RawRow]]:
        for row_no, line in lines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise FileRejected(
                    f"第{row_no}行不是有效的 JSON",
                    f"line {row_no} is not valid JSON",
                    field=f"row {row_no}",
                ) from exc
            if not isinstance(obj, dict):
                raise FileRejected(
                    f"第{row_no}行应为 JSON 对象",
                    f"line {row_no} is not an object",
                    field=f"row {row_no}",
                )
            out: RawRow = {}
            for key, value in obj.items():
                code = by_key.get(normalise(str(key)))
                if code is None:
                    raise FileRejected(
                        f"第{row_no}行字段“{key}”不是该资源的信息项",
                        f"line {row_no}: '{key}' is not a data item",
                        field=f"row {row_no}",
                    )
                if isinstance(value, dict | list):
                    raise FileRejected(
                        f"第{row_no}行字段“{key}”的值应为标量",
                        f"line {row_no}: '{key}' must be a scalar",
                        field=f"row {row_no}",
                    )
                out[code] = value
            yield row_no, out

    return Reader(rows(), "utf-8")


def open_reader(path: Path, fmt: str, items: list[DataItemInput]) -> Reader:
    fmt = fmt.lower().lstrip(".")
    if fmt == "csv":
        return read_csv(path.open("rb"), items)
    if fmt == "xlsx":
        return read_xlsx(path, items)
    if fmt in ("jsonl", "ndjson"):
        return read_jsonl(path.open("rb"), items)
    raise FileRejected(
        "仅支持 CSV、XLSX、JSON Lines 文件",
        "only CSV, XLSX and JSON Lines are accepted",
        field="file",
    )
