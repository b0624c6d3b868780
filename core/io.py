"""Read a transaction table (CSV, Excel .xlsx, Parquet) into a LazyFrame, safely.

* CSV: delimiter (``,`` ``;`` tab ``|``), encoding (UTF-8, UTF-8/UTF-16 with BOM, UTF-16
  without BOM, cp1252/latin-1 fallback) and decimal comma are detected and reported; gzip and
  zip compression are unpacked in memory. Every column is read as text (no type inference, no
  ``try_parse_dates``, no ``ignore_errors``): ``core.schema.normalize`` parses explicitly and
  counts failures, so ``C536379`` invoices and ``12/1/2010`` dates survive intact.
* Excel: parsed in a spawned child process with an address-space cap and a timeout, because a
  tiny .xlsx with a cell at XFD1048576 makes the reader allocate hundreds of GiB and abort the
  whole process. The parent survives and raises :class:`~core.errors.InputFileError`.
* Parquet: scanned lazily with its native dtypes.

Plain UTF-8 CSV files and Parquet files given by path are scanned lazily from disk; other
inputs are held in memory once (capped by ``max_decoded_mb``).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import pickle
import re
import resource
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

import polars as pl

from core.errors import InputFileError

FORMATS: tuple[str, ...] = ("csv", "xlsx", "parquet")
TEXT_SUFFIXES: frozenset[str] = frozenset({".csv", ".tsv", ".txt", ".tab", ".psv"})
EXCEL_SUFFIXES: frozenset[str] = frozenset({".xlsx", ".xlsm"})
PARQUET_SUFFIXES: frozenset[str] = frozenset({".parquet", ".pq"})
COMPRESSED_SUFFIXES: frozenset[str] = frozenset({".gz", ".gzip", ".zip"})
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
SUPPORTED_HINT = (
    "save the data as CSV (.csv/.tsv/.txt, optionally .gz or .zip), Excel (.xlsx) or "
    "Parquet (.parquet)"
)

_SAMPLE_BYTES = 256 * 1024
# The memory one read may use in this process (MB); default: a quarter of the machine's RAM.
BUDGET_ENV = "CUSTSEG_MEMORY_BUDGET_MB"
# Largest xl/workbook.xml read before parsing (a normal one is a few KB; a packed bomb is GBs).
_MAX_WORKBOOK_XML = 4 * 1024 * 1024
_PARQUET_SAMPLE_ROWS = 1000
_CHUNK = 1024 * 1024
# Refuse worksheets whose used range (from A1) exceeds this many cells before parsing.
_MAX_EXCEL_CELLS = 200_000_000
# ``ReadReport.delimiter`` of a file whose columns are separated (and aligned) by runs of
# spaces or tabs, like the original CDNOW_master.txt.
WHITESPACE = " "
_DELIM_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", WHITESPACE: "spaces"}
_COMMA_DECIMAL = re.compile(r"^\s*[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+\s*$")
_DOT_DECIMAL = re.compile(r"^\s*[-+]?\d+\.\d+\s*$")
# Fields of a first line that holds data, not names: numbers (``00001``, ``11.77``,
# ``-3,50``, ``$12``) and dates (``19970101``, ``2010-12-01``, ``12/1/2010 8:26``).
_NUMBER_FIELD = re.compile(r"^[-+(]?[$€£¥]?\d[\d.,']*\)?$")
_DATE_FIELD = re.compile(
    r"^\d{1,4}([-/.])\d{1,2}\1\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_LINE = "__custseg_line"  # the one column of a file read as lines (white-space columns)


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_table` found out about the file.

    Attributes
    ----------
    format
        ``"csv"``, ``"xlsx"`` or ``"parquet"``.
    encoding
        Text encoding of a CSV (``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"``, ``"utf-16-le"``,
        ``"utf-16-be"``, ``"cp1252"``, ``"latin-1"``); None for xlsx/parquet.
    encoding_note
        Why a non-UTF-8 encoding was chosen, e.g. ``"detected cp1252 (not valid UTF-8)"``.
    delimiter
        The CSV field delimiter; None for xlsx/parquet.
    decimal_comma
        True when numbers in the CSV use a decimal comma (``2,55``); pass it to
        ``core.schema.normalize``.
    compression
        ``"gzip"``, ``"zip"`` or None.
    columns
        Column names in file order.
    notes
        Anything else worth telling the user (sheet chosen, stripped header spaces, ...).
    """

    format: str
    encoding: str | None
    encoding_note: str | None
    delimiter: str | None
    decimal_comma: bool
    compression: str | None
    columns: tuple[str, ...]
    notes: tuple[str, ...]

    @classmethod
    def binary(
        cls, fmt: str, *, compression: str | None, columns: Sequence[str], notes: Sequence[str]
    ) -> ReadReport:
        """Report for a typed format (xlsx, parquet): no encoding, delimiter or decimal comma."""
        return cls(
            format=fmt,
            encoding=None,
            encoding_note=None,
            delimiter=None,
            decimal_comma=False,
            compression=compression,
            columns=tuple(columns),
            notes=tuple(notes),
        )


@dataclass(frozen=True)
class _Input:
    """One input: a path on disk or bytes in memory, plus the name used for its suffix."""

    name: str
    path: Path | None
    data: bytes | None

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    def head(self, n: int) -> bytes:
        if self.data is not None:
            return self.data[:n]
        assert self.path is not None
        with self.path.open("rb") as fh:
            return fh.read(n)

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            for start in range(0, len(self.data), _CHUNK):
                yield self.data[start : start + _CHUNK]
            return
        assert self.path is not None
        with self.path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk

    def read_all(self, cap: int) -> bytes:
        if self.data is not None:
            return self.data
        if self.size() > cap:
            raise _too_big(self.name, cap)
        assert self.path is not None
        return self.path.read_bytes()


def memory_budget_bytes() -> int:
    """The memory budget of one read: ``$CUSTSEG_MEMORY_BUDGET_MB``, else a quarter of RAM.

    Raises
    ------
    InputFileError
        The variable is set but is not a positive whole number of megabytes.
    """
    value = os.environ.get(BUDGET_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise InputFileError(
                f"{BUDGET_ENV}={value!r} is not a number of megabytes.",
                hint=f"set {BUDGET_ENV} to e.g. 4000, or unset it",
            )
        return int(value) * 1024 * 1024
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        ram = 8 * 1024**3
    return max(256 * 1024 * 1024, ram // 4)


def _over_budget(name: str, what: str, budget: int) -> InputFileError:
    return InputFileError(
        f"{name!r} {what}, more than this server's memory budget for one file "
        f"({budget // (1024 * 1024):,} MB).",
        hint="read fewer rows or columns (a shorter period, only the needed columns), or ask "
        f"the administrator to raise the budget ({BUDGET_ENV}, in MB)",
    )


def read_table(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    sheet: str | int | None = None,
    excel_memory_limit_mb: int = 2048,
    excel_timeout_s: float = 120.0,
    max_decoded_mb: int = 2048,
) -> tuple[pl.LazyFrame, ReadReport]:
    """Read a CSV, Excel or Parquet file into a LazyFrame.

    Parameters
    ----------
    source
        A path, or the raw bytes of an uploaded file.
    filename
        The file's name (its suffix picks the format when content sniffing cannot); useful
        with bytes. Defaults to the path's name.
    sheet
        Excel only: sheet name, or 1-based sheet position. Default: the first sheet.
    excel_memory_limit_mb
        Address-space cap of the child process that parses Excel files.
    excel_timeout_s
        Seconds before the Excel child process is killed.
    max_decoded_mb
        Cap on bytes held in memory after decompression or transcoding.

    Returns
    -------
    tuple[pl.LazyFrame, ReadReport]
        CSV and Excel columns are all ``pl.String``; Parquet keeps its dtypes.

    Raises
    ------
    InputFileError
        The file is missing, empty, header-only, binary garbage, of an unknown format,
        has duplicate or empty column names, or cannot be parsed.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        inp = _Input(name=filename or "uploaded file", path=None, data=bytes(source))
    else:
        path = Path(source)
        if not path.exists():
            raise InputFileError(
                f"File not found: {str(path)!r}.", hint="check the path and the file name"
            )
        if not path.is_file():
            raise InputFileError(
                f"{str(path)!r} is not a regular file.", hint="give the path of a data file"
            )
        inp = _Input(name=filename or path.name, path=path, data=None)
    budget = memory_budget_bytes()
    limits = _Limits(
        excel_memory_bytes=int(excel_memory_limit_mb) * 1024 * 1024,
        excel_timeout_s=float(excel_timeout_s),
        max_decoded_bytes=min(int(max_decoded_mb) * 1024 * 1024, budget),
        budget_bytes=budget,
    )
    return _dispatch(inp, sheet=sheet, limits=limits, compression=None)


@dataclass(frozen=True)
class _Limits:
    excel_memory_bytes: int
    excel_timeout_s: float
    max_decoded_bytes: int
    budget_bytes: int


def _suffixes(name: str) -> list[str]:
    return [s.lower() for s in PurePosixPath(name.replace("\\", "/")).suffixes]


def _sniff(head: bytes) -> str:
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole2"
    return "other"


def _dispatch(
    inp: _Input, *, sheet: str | int | None, limits: _Limits, compression: str | None
) -> tuple[pl.LazyFrame, ReadReport]:
    size = inp.size()
    if size == 0:
        raise InputFileError(
            f"{inp.name!r} is empty (0 bytes).",
            hint="export the data again; the file has no content",
        )
    head = inp.head(_SAMPLE_BYTES)
    kind = _sniff(head)
    suffixes = _suffixes(inp.name)
    last = suffixes[-1] if suffixes else ""
    if kind == "parquet":
        return _read_parquet(inp, compression=compression, budget=limits.budget_bytes)
    if kind == "ole2":
        raise InputFileError(
            f"{inp.name!r} is a legacy Excel 97-2003 (.xls) workbook or a password-protected "
            "Office file, which cannot be read.",
            hint="open it in Excel and save it as .xlsx or CSV (without a password)",
        )
    if kind == "gzip":
        if compression is not None:
            raise _nested(inp.name)
        data = _gunzip(inp, cap=limits.max_decoded_bytes)
        inner = inp.name[: -len(last)] if last in {".gz", ".gzip"} else inp.name + ".csv"
        return _dispatch(
            _Input(name=inner, path=None, data=data),
            sheet=sheet,
            limits=limits,
            compression="gzip",
        )
    if kind == "zip":
        return _dispatch_zip(inp, sheet=sheet, limits=limits, compression=compression)
    _check_text_suffix(inp.name, last)
    return _read_csv(inp, head=head, limits=limits, compression=compression)


def _dispatch_zip(
    inp: _Input, *, sheet: str | int | None, limits: _Limits, compression: str | None
) -> tuple[pl.LazyFrame, ReadReport]:
    """A zip archive: an .xlsx workbook, or the one data file it holds, read as its kind."""
    raw = inp.read_all(limits.max_decoded_bytes)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise InputFileError(
            f"{inp.name!r} looks like a zip archive or .xlsx workbook but is damaged: {exc}.",
            hint="export or download the file again",
        ) from exc
    with archive:
        names = set(archive.namelist())
        if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
            return _read_excel(
                raw,
                name=inp.name,
                sheet=sheet,
                limits=limits,
                archive=archive,
                compression=compression,
            )
        if compression is not None:
            raise _nested(inp.name)
        member, data = _unzip_member(archive, name=inp.name, cap=limits.max_decoded_bytes)
    return _dispatch(
        _Input(name=member, path=None, data=data),
        sheet=sheet,
        limits=limits,
        compression="zip",
    )


def _check_text_suffix(name: str, last: str) -> None:
    """Refuse a file that is not Parquet, Excel or an archive but whose suffix (``last``)
    names one of those, or an unsupported type."""
    if last in EXCEL_SUFFIXES:
        raise InputFileError(
            f"{name!r} has an Excel suffix but is not an .xlsx workbook.",
            hint="open it in Excel and save it as .xlsx or CSV",
        )
    if last in PARQUET_SUFFIXES:
        raise InputFileError(
            f"{name!r} has a Parquet suffix but is not a Parquet file "
            f"(it does not start with 'PAR1').",
            hint="write the file again with a Parquet writer, or " + SUPPORTED_HINT,
        )
    if last == ".xls":
        raise InputFileError(
            f"{name!r}: legacy .xls workbooks are not supported.",
            hint="open it in Excel and save it as .xlsx or CSV",
        )
    if last and last not in TEXT_SUFFIXES and last not in COMPRESSED_SUFFIXES:
        raise InputFileError(
            f"{name!r}: unsupported file type {last!r}.",
            hint=SUPPORTED_HINT,
        )


def _nested(name: str) -> InputFileError:
    return InputFileError(
        f"{name!r} is compressed twice (an archive inside an archive).",
        hint="unpack it once and upload the CSV, or compress the CSV only once",
    )


def _too_big(name: str, cap: int) -> InputFileError:
    return InputFileError(
        f"{name!r} is larger than {cap // (1024 * 1024):,} MB once unpacked or decoded, the "
        "limit for files held in memory.",
        hint="save it as uncompressed UTF-8 CSV or Parquet, which are read from disk in "
        f"streaming fashion; or ask the administrator to raise the memory budget ({BUDGET_ENV}, "
        "in MB)",
    )


def _gunzip(inp: _Input, *, cap: int) -> bytes:
    """The unpacked bytes of a gzip file, in two passes: the first streams through it keeping
    nothing, to check it and learn its exact unpacked size (refused over ``cap`` before
    anything is held); the second unpacks into one buffer of that size, so the result is
    never copied (a growing buffer and its final copy held twice the size at the peak)."""
    size = _gunzipped_size(inp, cap=cap)
    return zlib.decompress(inp.read_all(cap), wbits=16 + zlib.MAX_WBITS, bufsize=size)


def _gunzipped_size(inp: _Input, *, cap: int) -> int:
    decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    size = 0
    try:
        for chunk in inp.chunks():
            pending = chunk
            while pending and not decomp.eof:
                size += len(decomp.decompress(pending, _CHUNK))
                pending = decomp.unconsumed_tail
                if size > cap:
                    raise _too_big(inp.name, cap)
            if decomp.eof:
                break
        size += len(decomp.flush())
    except zlib.error as exc:
        raise InputFileError(
            f"{inp.name!r} is a damaged gzip file: {exc}.",
            hint="compress the file again (gzip) or upload it uncompressed",
        ) from exc
    if size > cap:
        raise _too_big(inp.name, cap)
    if not decomp.eof:
        raise InputFileError(
            f"{inp.name!r} is a truncated gzip file (the compressed stream ends early).",
            hint="download or compress the file again",
        )
    if size == 0:
        raise InputFileError(
            f"{inp.name!r} is an empty gzip file (0 bytes once unpacked).",
            hint="compress the file that holds the data",
        )
    return size


def _unzip_member(archive: zipfile.ZipFile, *, name: str, cap: int) -> tuple[str, bytes]:
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not PurePosixPath(info.filename).name.startswith(".")
    ]
    supported = TEXT_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES
    tables = [m for m in members if PurePosixPath(m.filename).suffix.lower() in supported]
    listing = ", ".join(repr(m.filename) for m in members[:10]) or "nothing"
    if not tables:
        raise InputFileError(
            f"The zip archive {name!r} holds no CSV, Excel or Parquet file (it contains "
            f"{listing}).",
            hint="put exactly one .csv (or .xlsx/.parquet) file in the archive",
        )
    if len(tables) > 1:
        found = ", ".join(repr(m.filename) for m in tables[:10])
        raise InputFileError(
            f"The zip archive {name!r} holds {len(tables)} data files ({found}); which one to "
            "read is unclear.",
            hint="put exactly one data file in the archive, or unpack it and upload that file",
        )
    info = tables[0]
    if info.file_size > cap:
        raise _too_big(f"{name}/{info.filename}", cap)
    try:
        with archive.open(info) as fh:
            data = fh.read(cap + 1)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: encrypted member; NotImplementedError: unsupported compression.
        raise InputFileError(
            f"Cannot unpack {info.filename!r} from {name!r}: {exc}.",
            hint="unpack the archive yourself and upload the data file (no password)",
        ) from exc
    if len(data) > cap:
        raise _too_big(f"{name}/{info.filename}", cap)
    return PurePosixPath(info.filename).name, data


# --------------------------------------------------------------------------------------- CSV


@dataclass(frozen=True)
class _Encoding:
    name: str  # Python codec name
    label: str  # reported name
    note: str | None


def _detect_encoding(inp: _Input, head: bytes) -> _Encoding:
    if head.startswith(codecs.BOM_UTF8):
        return _Encoding("utf-8-sig", "utf-8-sig", "UTF-8 with byte-order mark")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return _Encoding("utf-32", "utf-32", "UTF-32 with byte-order mark")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _Encoding("utf-16", "utf-16", "UTF-16 with byte-order mark")
    utf16 = _utf16_without_bom(head)
    if utf16 is not None:
        return _Encoding(utf16, utf16, f"detected {utf16} without byte-order mark (NUL pattern)")
    _reject_binary(inp.name, head)
    bad = _first_invalid_utf8(inp)
    if bad is None:
        return _Encoding("utf-8", "utf-8", None)
    offset, byte = bad
    where = f"byte 0x{byte:02X} at offset {offset}"
    if _decodes(inp, "cp1252"):
        return _Encoding("cp1252", "cp1252", f"detected cp1252 (not valid UTF-8: {where})")
    return _Encoding(
        "latin-1", "latin-1", f"detected latin-1 (not valid UTF-8: {where}; not cp1252 either)"
    )


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[: 4096 - (min(len(head), 4096) % 2)]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / (len(sample) / 2)
    odd_nul = sample[1::2].count(0) / (len(sample) / 2)
    # ASCII text in UTF-16: every other byte is NUL, the others almost never are.
    if odd_nul > 0.7 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.7 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _reject_binary(name: str, head: bytes) -> None:
    sample = head[:65536]
    controls = sum(sample.count(bytes([b])) for b in range(32) if b not in (9, 10, 12, 13))
    if b"\x00" in sample or controls > max(2, len(sample) // 100):
        raise InputFileError(
            f"{name!r} is not a text table: it contains binary data "
            f"({controls} control bytes in the first {len(sample)} bytes).",
            hint=SUPPORTED_HINT,
        )


def _first_invalid_utf8(inp: _Input) -> tuple[int, int] | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    for chunk in inp.chunks():
        try:
            decoder.decode(chunk, final=False)
        except UnicodeDecodeError as exc:
            return offset + exc.start, chunk[exc.start]
        offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - 1, 0
    return None


def _decodes(inp: _Input, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for chunk in inp.chunks():
            decoder.decode(chunk, final=False)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _transcode(inp: _Input, codec: str, *, cap: int) -> bytes:
    """Decode ``inp`` with ``codec`` into UTF-8 bytes, chunk by chunk."""
    decoder = codecs.getincrementaldecoder(codec)()
    out = bytearray()
    try:
        for chunk in inp.chunks():
            out += decoder.decode(chunk, final=False).encode("utf-8")
            if len(out) > cap:
                raise _too_big(inp.name, cap)
        out += decoder.decode(b"", final=True).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{inp.name!r} is not valid {codec} text: {exc.reason} at byte {exc.start}.",
            hint="save the file again as UTF-8 CSV",
        ) from exc
    if out.startswith(codecs.BOM_UTF8):
        del out[:3]
    return bytes(out)


def _csv_error(exc: csv.Error, *, name: str) -> InputFileError:
    """What a ``csv`` module error on the first lines of a file means for the user.

    The usual one is a field longer than the module's limit (131,072 characters): in a table,
    nearly always a quote that opens a field and is never closed, so the rest of the file
    reads as one value.
    """
    if "field limit" in str(exc):
        return InputFileError(
            f"{name!r}: a value in the first lines (the header or the first rows) is longer "
            f'than {csv.field_size_limit():,} characters. This usually means a quote (") opens '
            "a field and is never closed, so the rest of the file reads as one value.",
            hint="check the quotes in the first lines: every field that starts with a quote "
            "needs a closing quote; remove stray quotes or overlong values and save the file "
            "again",
        )
    return InputFileError(
        f"Cannot read the first lines of {name!r} as CSV: {exc}.",
        hint="check that the file is a CSV table with a header line",
    )


def _detect_delimiter(sample: str, *, name: str) -> tuple[str, int]:
    """The delimiter giving the most consistent multi-field rows, and its header width.

    :data:`WHITESPACE` (runs of spaces or tabs) when no single delimiter gives the same
    number of fields on every row and splitting on white space gives it on nine rows in ten
    or more (a stray longer row is then reported by the caller).
    """
    best: tuple[float, int, int] | None = None
    choice = ","
    width = 1
    for rank, delim in enumerate(DELIMITERS):
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
        except csv.Error as exc:
            raise _csv_error(exc, name=name) from exc
        if not rows or len(rows[0]) < 2:
            continue
        n = len(rows[0])
        consistent = sum(len(r) == n for r in rows) / len(rows)
        score = (consistent, n, -rank)
        if best is None or score > best:
            best, choice, width = score, delim, n
    if best is None or best[0] < 1:
        split = [line.split() for line in sample.splitlines() if line.strip()]
        n = len(split[0]) if split else 0
        consistent = sum(len(r) == n for r in split) / max(len(split), 1)
        if n >= 2 and consistent >= 0.9 and (best is None or consistent > best[0]):
            return WHITESPACE, n
    return choice, width


def _sample_rows(
    sample: str, delimiter: str, *, name: str
) -> tuple[list[str], int, list[list[str]]]:
    """The sample's first row, the lines it spans, and its other non-blank rows."""
    if delimiter == WHITESPACE:
        split = [line.split() for line in sample.splitlines()]
        first = next((i for i, r in enumerate(split) if r), 0)
        return split[first] if split else [], first + 1, [r for r in split[first + 1 :] if r]
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    try:
        header = next(reader)
        header_lines = reader.line_num
        rows = [r for r in reader if any(f.strip() for f in r)]
    except csv.Error as exc:
        raise _csv_error(exc, name=name) from exc
    except StopIteration as exc:
        raise InputFileError(
            f"Cannot read the header of {name!r}: it has no lines.",
            hint="check that the file is a CSV table with a header line",
        ) from exc
    return header, header_lines, rows


def _scan_whitespace(source: Path | bytes, columns: Sequence[str], skip_lines: int) -> pl.LazyFrame:
    """A file whose columns are separated by runs of spaces or tabs, scanned lazily as lines.

    Each line is split on white space; a line with more fields than the header keeps the
    rest in its last column (whose value then fails to parse and is counted), a line with
    fewer leaves the last columns empty.
    """
    line = pl.col(_LINE).str.strip_chars()
    fields = line.str.replace_all(r"\s+", "\t").str.splitn("\t", len(columns))
    return (
        pl.scan_csv(
            source,
            separator="\x1f",  # a byte no text line holds: one column, the whole line
            has_header=False,
            skip_lines=skip_lines,
            schema={_LINE: pl.String()},
            infer_schema=False,
            quote_char=None,
            encoding="utf8",
        )
        .select(fields.struct.rename_fields(list(columns)).alias(_LINE))
        .unnest(_LINE)
    )


def _read_csv(
    inp: _Input, *, head: bytes, limits: _Limits, compression: str | None
) -> tuple[pl.LazyFrame, ReadReport]:
    enc = _detect_encoding(inp, head)
    notes: list[str] = []
    source, sample, complete = _utf8_sample(inp, head, enc.name, limits, notes)
    delimiter, skip_lines, columns, rows = _layout(sample, inp.name, notes)
    if not rows and complete:
        raise InputFileError(
            f"{inp.name!r} has a header ({', '.join(repr(c) for c in columns[:8])}) but no "
            "data rows.",
            hint="export the data again including the rows",
        )
    for line_no, row in enumerate(rows, start=2):
        if len(row) > len(columns):
            raise InputFileError(
                f"{inp.name!r}: a data row has {len(row)} fields but the header has "
                f"{len(columns)} (delimiter {_DELIM_NAMES.get(delimiter, repr(delimiter))}); "
                f"first such row: {delimiter.join(row)[:120]!r} (about line {line_no}).",
                hint="quote fields that contain the delimiter, or fix the header",
            )
    decimal_comma = delimiter != "," and _decimal_comma(rows, notes)
    if delimiter == WHITESPACE:
        lf = _scan_whitespace(source, columns, skip_lines)
    else:
        lf = pl.scan_csv(
            source,
            separator=delimiter,
            has_header=False,
            skip_lines=skip_lines,
            schema=dict.fromkeys(columns, pl.String()),
            infer_schema=False,
            quote_char='"',
            encoding="utf8",
        )
    report = ReadReport(
        format="csv",
        encoding=enc.label,
        encoding_note=enc.note,
        delimiter=delimiter,
        decimal_comma=decimal_comma,
        compression=compression,
        columns=tuple(columns),
        notes=tuple(notes),
    )
    return lf, report


def _utf8_sample(
    inp: _Input, head: bytes, encoding: str, limits: _Limits, notes: list[str]
) -> tuple[Path | bytes, str, bool]:
    """The file as UTF-8 for the CSV reader (itself, or transcoded), the text of its first
    :data:`_SAMPLE_BYTES` (whole lines only) and whether that is all of it."""
    if encoding in {"utf-8", "utf-8-sig"}:
        source: Path | bytes = inp.path if inp.path is not None else (inp.data or b"")
        utf8_head = head
        total = inp.size()
    else:
        source = _transcode(inp, encoding, cap=limits.max_decoded_bytes)
        utf8_head = source[:_SAMPLE_BYTES]
        total = len(source)
    complete = len(utf8_head) >= total
    sample = codecs.getincrementaldecoder("utf-8")().decode(utf8_head, final=complete)
    sample = sample.removeprefix("\ufeff")
    if "\n" not in sample and "\r" in sample:
        # Classic Mac line endings: the CSV reader only splits on \n.
        data = source if isinstance(source, bytes) else inp.read_all(limits.max_decoded_bytes)
        source = data.replace(b"\r", b"\n")
        sample = sample.replace("\r", "\n")
        notes.append("converted old Mac (CR-only) line endings")
    if not complete:
        # Drop the possibly cut-off last line.
        cut = sample.rfind("\n")
        sample = sample[: cut + 1] if cut > 0 else sample
    if not sample.strip():
        raise InputFileError(
            f"{inp.name!r} contains only blank space, no table.",
            hint="export the data again; the file has no header or rows",
        )
    return source, sample, complete


def _layout(
    sample: str, name: str, notes: list[str]
) -> tuple[str, int, list[str], list[list[str]]]:
    """The delimiter, the lines before the first row, the column names and the sample's
    rows, from the sample's text (an Excel ``sep=`` line, a header that holds data)."""
    skip_lines = 0
    first_line = sample.split("\n", 1)[0].strip()
    sep_hint = re.fullmatch(r"sep=(.)", first_line)
    if sep_hint:
        # Excel's "sep=;" first line names the delimiter.
        delimiter = sep_hint.group(1)
        skip_lines = 1
        sample = sample.split("\n", 1)[1] if "\n" in sample else ""
        notes.append(f"the first line {first_line!r} names the delimiter")
    else:
        delimiter, _ = _detect_delimiter(sample, name=name)

    header, header_lines, rows = _sample_rows(sample, delimiter, name=name)
    if len(header) < 2 and not sep_hint:
        raise InputFileError(
            f"{name!r} has a single column: no comma, semicolon, tab, pipe or run of "
            f"spaces separates its fields (first line: {first_line[:80]!r}).",
            hint="export the data again as CSV with one column per field (customer, date, "
            "amount, ...)",
        )
    if all(_NUMBER_FIELD.match(f.strip()) or _DATE_FIELD.match(f.strip()) for f in header):
        rows = [header, *rows]
        # Lines before the first row (blank ones) are still skipped; the row itself is read.
        header, header_lines = [f"column_{i}" for i in range(1, len(header) + 1)], header_lines - 1
        notes.append(
            "the first line holds data (numbers and dates), not column names: the columns are "
            f"named column_1 to column_{len(header)}; map them to roles, e.g. "
            "--map customer=column_1"
        )
    skip_lines += header_lines
    if delimiter == WHITESPACE:
        notes.append("columns separated by runs of spaces")
    return delimiter, skip_lines, _clean_header(header, name=name, notes=notes), rows


def _decimal_comma(rows: list[list[str]], notes: list[str]) -> bool:
    """Whether the sample's numbers use a decimal comma (more of them than decimal points)."""
    fields = [f for r in rows for f in r]
    n_comma = sum(bool(_COMMA_DECIMAL.match(f)) for f in fields)
    n_dot = sum(bool(_DOT_DECIMAL.match(f)) for f in fields)
    if n_comma > 0 and n_comma >= n_dot:
        example = next(f for f in fields if _COMMA_DECIMAL.match(f))
        notes.append(f"decimal comma detected (e.g. {example.strip()!r})")
        return True
    return False


def _clean_header(header: list[str], *, name: str, notes: list[str]) -> list[str]:
    """Strip names; reject empty and duplicate column names, saying which."""
    columns = [h.strip() for h in header]
    stripped = [h for h, c in zip(header, columns, strict=True) if h != c]
    if stripped:
        notes.append(
            "removed spaces around column names: "
            + ", ".join(repr(h) for h in stripped[:5])
            + (" ..." if len(stripped) > 5 else "")
        )
    empty = [i + 1 for i, c in enumerate(columns) if not c]
    if empty:
        raise InputFileError(
            f"{name!r}: column{'s' if len(empty) > 1 else ''} "
            f"{', '.join(str(i) for i in empty)} of {len(columns)} "
            f"{'have' if len(empty) > 1 else 'has'} an empty name in the header.",
            hint="give every column a name in the header line (or remove a trailing "
            "delimiter at the end of each line)",
        )
    seen: dict[str, int] = {}
    dups: list[str] = []
    for c in columns:
        seen[c] = seen.get(c, 0) + 1
        if seen[c] == 2:
            dups.append(c)
    if dups:
        raise InputFileError(
            f"{name!r}: duplicate column name{'s' if len(dups) > 1 else ''} in the header: "
            + ", ".join(f"{d!r} ({seen[d]} times)" for d in dups)
            + ".",
            hint="rename the columns so that every name is unique",
        )
    return columns


# ----------------------------------------------------------------------------------- Parquet


EAGER_PARQUET_ROWS = 2_000_000  # up to this many rows a Parquet file is read into memory


def _read_parquet(
    inp: _Input, *, compression: str | None, budget: int
) -> tuple[pl.LazyFrame, ReadReport]:
    def unreadable(exc: BaseException) -> InputFileError:
        return InputFileError(
            f"{inp.name!r} is not a readable Parquet file: {_first_line(exc)}.",
            hint="write the file again with a Parquet writer, or " + SUPPORTED_HINT,
        )

    def source() -> Path | io.BytesIO:
        # Scans of in-memory Parquet re-read the buffer: each plan gets its own.
        return inp.path if inp.path is not None else io.BytesIO(inp.data or b"")

    try:
        schema = pl.scan_parquet(source()).collect_schema()
        # Rows x the decoded width of the first rows: a few KB of Parquet can hold GBs of
        # repeated text, which the row count alone does not show.
        n_rows, sample = _parquet_sample(source, schema)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise unreadable(exc) from exc
    notes: list[str] = []
    columns = _clean_header(list(schema.names()), name=inp.name, notes=notes)
    if n_rows == 0:
        raise InputFileError(
            f"{inp.name!r} has columns ({', '.join(repr(c) for c in columns[:8])}) but no rows.",
            hint="write the file again including the rows",
        )
    width = sample.estimated_size() / max(sample.height, 1)
    decoded = int(width * n_rows)
    if decoded > budget:
        raise _over_budget(
            inp.name,
            f"would take about {decoded / 1024**2:,.0f} MB of memory once decoded ({n_rows:,} "
            f"rows of about {width:,.0f} bytes)",
            budget,
        )
    if n_rows <= EAGER_PARQUET_ROWS and decoded <= budget // 4:
        # Decoded once and held: the pipeline reads a small file two or three times (the
        # source pass, the classifying pass, the sample lines), each a full decode otherwise.
        try:
            lf = _parquet_in_memory(source, sample).lazy()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise unreadable(exc) from exc
    else:
        lf = pl.scan_parquet(source())
    if notes:
        lf = lf.rename(dict(zip(schema.names(), columns, strict=True)))
    report = ReadReport.binary("parquet", compression=compression, columns=columns, notes=notes)
    return lf, report


def _parquet_sample(
    source: Callable[[], Path | io.BytesIO], schema: pl.Schema
) -> tuple[int, pl.DataFrame]:
    """The file's row count, and its first rows as the memory check and the column groups
    read them (both in one ``collect_all``, which runs the two queries side by side).

    Only the columns of varying width (text, nested, ...) are decoded; a fixed-width one
    (numbers, dates, Booleans) is nulls of its dtype, whose bytes a row depend on the dtype
    alone. (A Parquet reader decodes whole pages, often the whole column chunk of a small
    file, however few the rows asked for.)
    """
    varying = [name for name, dtype in schema.items() if not _fixed_width(dtype)]
    queries = [pl.scan_parquet(source()).select(pl.len())]
    if varying:
        queries.append(pl.scan_parquet(source()).select(varying).head(_PARQUET_SAMPLE_ROWS))
    count, *first = pl.collect_all(queries)
    n_rows = count.item()
    decoded = first[0] if first else None
    height = min(n_rows, _PARQUET_SAMPLE_ROWS)
    return n_rows, pl.DataFrame(
        [
            pl.Series(name, [None] * height, dtype=dtype)  # (pl.repeat runs a query)
            if decoded is None or name not in varying
            else decoded.get_column(name)
            for name, dtype in schema.items()
        ]
    )


def _fixed_width(dtype: pl.DataType) -> bool:
    """Whether every value of ``dtype`` takes the same bytes (numbers, dates, Booleans)."""
    return dtype == pl.Boolean or (
        (dtype.is_numeric() or dtype.is_temporal()) and not isinstance(dtype, pl.Decimal)
    )


def _parquet_in_memory(
    source: Callable[[], Path | io.BytesIO], sample: pl.DataFrame
) -> pl.DataFrame:
    """The whole Parquet file decoded into memory, its columns in groups read side by side.

    Polars decodes a row group on one thread; a group of columns per thread of its pool, of
    about equal decoding cost in ``sample`` (the file's first rows), uses the other cores
    (``collect_all`` runs the groups' scans in parallel).
    """
    groups = _column_groups(sample, pl.thread_pool_size())
    if len(groups) == 1:
        return pl.read_parquet(source())
    parts = pl.collect_all([pl.scan_parquet(source()).select(group) for group in groups])
    return pl.concat(parts, how="horizontal").select(sample.columns)


def _column_groups(sample: pl.DataFrame, n_groups: int) -> list[list[str]]:
    """``sample``'s columns in at most ``n_groups`` groups of about equal decoding cost
    (:func:`_decoding_cost`): the costliest first, each to the group cheapest so far."""
    sizes = {c.name: _decoding_cost(c) for c in sample.get_columns()}
    groups: list[list[str]] = [[] for _ in range(max(1, min(n_groups, len(sizes))))]
    totals = [0] * len(groups)
    for name in sorted(sizes, key=lambda n: -sizes[n]):
        smallest = totals.index(min(totals))
        groups[smallest].append(name)
        totals[smallest] += sizes[name]
    return groups


def _decoding_cost(column: pl.Series) -> int:
    """What decoding ``column`` costs, roughly: the bytes it holds, a text value counted as its
    16-byte view alone (Polars points the views of dictionary-encoded text at the dictionary's
    bytes; measured on the UCI file, a text column cost 1.4-1.8 times a 64-bit one)."""
    if column.dtype in (pl.String, pl.Binary):
        return 16 * column.len()
    return column.estimated_size()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------------- Excel

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+\d+)(?::([A-Z]+\d+))?"')


def _cell_extent(ref: bytes) -> tuple[int, int]:
    m = re.fullmatch(rb"([A-Z]+)(\d+)", ref)
    if m is None:
        return 0, 0
    col = 0
    for ch in m.group(1):
        col = col * 26 + (ch - 64)
    return col, int(m.group(2))


def _read_member(archive: zipfile.ZipFile, member: str, *, name: str) -> bytes:
    """A small XML part of a workbook, read up to :data:`_MAX_WORKBOOK_XML` bytes only."""
    with archive.open(member) as fh:
        data = fh.read(_MAX_WORKBOOK_XML + 1)
    if len(data) > _MAX_WORKBOOK_XML:
        raise InputFileError(
            f"{name!r}: its {member} unpacks to more than {_MAX_WORKBOOK_XML // 1024**2} MB; "
            "a normal one holds a few KB, so this is not a workbook that can be read safely.",
            hint="open it in Excel, save it as .xlsx again or export the sheet as CSV",
        )
    return data


def _workbook_sheets(archive: zipfile.ZipFile, *, name: str) -> list[tuple[str, str]]:
    """(sheet name, worksheet xml path) in workbook order; [] when the layout is unusual."""
    try:
        wb = ElementTree.fromstring(_read_member(archive, "xl/workbook.xml", name=name))
        rels = ElementTree.fromstring(
            _read_member(archive, "xl/_rels/workbook.xml.rels", name=name)
        )
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, zlib.error):
        return []
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG}Relationship")}
    out = []
    for s in wb.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(s.get(f"{_NS_REL}id"), "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out.append((s.get("name", ""), path))
    return out


def _precheck_excel(archive: zipfile.ZipFile, *, name: str, sheet: str | int | None) -> None:
    """Reject a worksheet whose declared used range is absurdly large, before parsing."""
    sheets = _workbook_sheets(archive, name=name)
    if not sheets:
        return
    if sheet is None:
        chosen = sheets[:1]
    elif isinstance(sheet, int):
        chosen = sheets[sheet - 1 : sheet] if 1 <= sheet <= len(sheets) else []
    else:
        chosen = [s for s in sheets if s[0] == sheet]
    for sheet_name, path in chosen:
        try:
            with archive.open(path) as fh:
                start = fh.read(4096)
        except (KeyError, zipfile.BadZipFile, zlib.error):
            return
        m = _DIMENSION.search(start)
        if m is None:
            continue
        cols, rows = _cell_extent(m.group(2) or m.group(1))
        if cols * rows > _MAX_EXCEL_CELLS:
            raise InputFileError(
                f"{name!r}: sheet {sheet_name!r} declares a used range up to cell "
                f"{(m.group(2) or m.group(1)).decode()} ({cols:,} columns x {rows:,} rows), "
                "too large to load.",
                hint="delete the stray cells far below or right of the data in Excel (or copy "
                "the table to a new sheet), save, and upload again; or export it as CSV",
            )


def _read_excel(
    raw: bytes,
    *,
    name: str,
    sheet: str | int | None,
    limits: _Limits,
    archive: zipfile.ZipFile,
    compression: str | None,
) -> tuple[pl.LazyFrame, ReadReport]:
    _precheck_excel(archive, name=name, sheet=sheet)
    result = run_excel_child(
        raw,
        sheet=sheet,
        memory_limit_bytes=limits.excel_memory_bytes,
        timeout_s=limits.excel_timeout_s,
        name=name,
    )
    ipc, sheet_name, sheet_names, header = result
    notes: list[str] = []
    columns = _clean_header(header, name=name, notes=notes)
    df = pl.read_ipc(io.BytesIO(ipc))
    df = df.rename(dict(zip(df.columns, columns, strict=True)))
    if len(sheet_names) > 1:
        others = ", ".join(repr(s) for s in sheet_names if s != sheet_name)
        notes.append(f"read sheet {sheet_name!r}; the workbook also has {others}")
    report = ReadReport.binary("xlsx", compression=compression, columns=columns, notes=notes)
    return df.lazy(), report


def run_excel_child(
    raw: bytes,
    *,
    sheet: str | int | None,
    memory_limit_bytes: int,
    timeout_s: float,
    name: str = "workbook",
) -> tuple[bytes, str, list[str], list[str]]:
    """Parse one worksheet in a child process with a memory cap and a timeout.

    The child is a fresh interpreter (``subprocess``, not ``fork``: safe in threaded servers,
    and unlike multiprocessing's spawn it never re-imports the caller's ``__main__``). It
    receives the workbook on stdin and answers with a pickled message on stdout.

    Returns the sheet as Arrow IPC bytes (all columns text, header row excluded), the sheet
    name, all sheet names and the raw header cells. Raises InputFileError when the child
    fails, is killed, runs out of memory or takes too long; the caller's process survives.
    """
    root = str(Path(__file__).resolve().parents[1])
    code = (
        f"import sys; sys.path.insert(0, {root!r}); "
        "from core.io import _excel_child_main; _excel_child_main()"
    )
    request = pickle.dumps((sheet, memory_limit_bytes), protocol=pickle.HIGHEST_PROTOCOL)
    payload = len(request).to_bytes(8, "little") + request + raw
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "RUST_BACKTRACE": "0"},
    )
    try:
        out, err = proc.communicate(payload, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise InputFileError(
            f"Reading the Excel workbook {name!r} took longer than {timeout_s:g} s and "
            "was stopped.",
            hint="export the sheet as CSV, which reads much faster",
        ) from None
    message: tuple[Any, ...] | None = None
    if proc.returncode == 0 and out:
        # The child is our own code; its answer is trusted.
        message = pickle.loads(out)
    if message is None:
        mb = memory_limit_bytes // (1024 * 1024)
        code_text = (
            f"killed by signal {-proc.returncode}"
            if proc.returncode < 0
            else f"exit code {proc.returncode}"
        )
        alloc = re.search(rb"memory allocation of (\d+) bytes failed", err)
        detail = (
            f"; it tried to allocate {int(alloc.group(1)) / 2**30:,.1f} GiB at once"
            if alloc
            else ""
        )
        raise InputFileError(
            f"Reading the Excel workbook {name!r} failed: the reader ran out of its {mb} MB "
            f"memory allowance or crashed ({code_text}{detail}). Workbooks with stray cells "
            "far outside the data (e.g. at XFD1048576) cause this.",
            hint="delete stray cells outside the table in Excel (or copy the table to a new "
            "sheet) and save, or export the sheet as CSV",
        )
    if message[0] == "error":
        raise InputFileError(f"{name!r}: {message[1]}", hint=message[2])
    _, ipc, sheet_name, sheet_names, header = message
    return ipc, sheet_name, sheet_names, header


def _excel_child_main() -> None:
    """Child-process entry point: read the request on stdin, answer on stdout."""
    stdin = sys.stdin.buffer
    n = int.from_bytes(stdin.read(8), "little")
    sheet, memory_limit_bytes = pickle.loads(stdin.read(n))
    raw = stdin.read()
    # Cap the address space before parsing: an absurd allocation then fails in this
    # process only (the parent sees an abnormal exit).
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    message = _parse_sheet(raw, sheet)
    sys.stdout.buffer.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


def _parse_sheet(raw: bytes, sheet: str | int | None) -> tuple[Any, ...]:
    import fastexcel  # noqa: PLC0415 - only the child process needs it

    reopen = "open it in Excel, check it, save it as .xlsx again or export it as CSV"
    try:
        reader = fastexcel.read_excel(raw)
        names = list(reader.sheet_names)
        listing = ", ".join(repr(n) for n in names)
        if sheet is None:
            idx = 0
        elif isinstance(sheet, int):
            if not 1 <= sheet <= len(names):
                return (
                    "error",
                    f"sheet {sheet} does not exist; the workbook has {len(names)} sheet(s): "
                    f"{listing}.",
                    "pick a sheet by its position (1 = first) or by its name",
                )
            idx = sheet - 1
        else:
            if sheet not in names:
                return (
                    "error",
                    f"there is no sheet named {sheet!r}; sheets: {listing}.",
                    "pick one of the listed sheet names",
                )
            idx = names.index(sheet)
        sheet_name = names[idx]
        table = reader.load_sheet(idx, header_row=None, dtypes="string").to_polars()
    except (fastexcel.FastExcelError, pl.exceptions.PolarsError, ValueError, OSError) as exc:
        return ("error", f"the Excel workbook cannot be read: {_first_line(exc)}.", reopen)
    if table.height == 0 or table.width == 0:
        return (
            "error",
            f"sheet {sheet_name!r} is empty.",
            "put the table (header row first) on the sheet, or pick another sheet",
        )
    header = ["" if v is None else str(v) for v in table.row(0)]
    data = table.slice(1)
    has_rows = data.height > 0 and bool(
        data.select(pl.any_horizontal(pl.all().is_not_null()).any()).item()
    )
    if not has_rows:
        shown = ", ".join(repr(h) for h in header[:8])
        return (
            "error",
            f"sheet {sheet_name!r} has a header ({shown}) but no data rows.",
            "add the rows below the header, or pick another sheet",
        )
    buf = io.BytesIO()
    data.write_ipc(buf)
    return ("ok", buf.getvalue(), sheet_name, names, header)
