"""Reading the CSV files of the sources: UTF-8 (with or without BOM), a header row.

Encoding is checked for the whole file before anything is imported: a file
saved in another encoding would otherwise import mangled names.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.i18n import N_, Message
from core.records.imports.progress import TICK_ROWS, ProgressTracker
from core.records.imports.report import FileUnreadable
from core.text import drop_invisible, nfc

_CHUNK = 1 << 20


@dataclass(frozen=True)
class CsvFile:
    path: Path
    sha256: str
    delimiter: str
    columns: tuple[str, ...]
    progress: ProgressTracker | None = None  # told where the reading is (`iter_rows`)


def _check_encoding(path: Path) -> str:
    """Validates UTF-8 over the whole file; returns its SHA-256."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    line = 1
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise FileUnreadable(Message(N_(
                    "The file is UTF-16. Save it as CSV UTF-8 and import it again.")))
            handle.seek(0)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as error:
                    line += chunk[: error.start].count(b"\n")
                    raise FileUnreadable(Message(N_(
                        "The file is not UTF-8 (the first wrong byte is on line {line}). "
                        "Save it as CSV UTF-8 and import it again."), {"line": line})) from None
                line += chunk.count(b"\n")
            decoder.decode(b"", final=True)
    except OSError as error:
        raise FileUnreadable(Message(N_("The file cannot be read: {error}"),
                                     {"error": error.strerror or str(error)})) from None
    except UnicodeDecodeError:
        raise FileUnreadable(Message(N_(
            "The file ends in the middle of a character. Save it as CSV UTF-8 and import it again."
        ))) from None
    return digest.hexdigest()


def _header_key(name: str) -> str:
    # A spreadsheet may leave a zero-width space or a second BOM in a column name.
    return nfc(drop_invisible(name)).strip().strip('"').lower()


def open_csv(path: Path, required: Sequence[str]) -> CsvFile:
    sha = _check_encoding(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise FileUnreadable(Message(N_("The file is empty: the first line must name the columns.")))
    # Comma-separated by the source specification; spreadsheets set to Vietnamese
    # often save with `;`, which is accepted rather than refused.
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else ("\t" if "\t" in first else ",")
    columns = tuple(_header_key(c) for c in next(csv.reader([first], delimiter=delimiter)))
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileUnreadable(Message(N_("The file lacks the required column(s): {columns}."),
                                     {"columns": ", ".join(missing)}))
    return CsvFile(path, sha, delimiter, columns)


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]
    problem: Message | None = None


def iter_rows(source: CsvFile) -> Iterator[CsvRow]:
    """Rows as `{column: text}` (NFC, trimmed) with the line they end on."""
    columns = source.columns
    width = len(columns)
    strip = str.strip
    progress = source.progress
    count = 0
    with source.path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(map(nfc, handle), delimiter=source.delimiter)
        next(reader, None)
        for cells in reader:
            values = list(map(strip, cells))
            if not any(values):
                continue
            count += 1
            if progress is not None and count % TICK_ROWS == 0:
                # The bytes the text layer has taken: at most its 8 KiB buffer ahead.
                progress.tick(count, handle.buffer.tell())
            if len(values) > width:  # often an address with an unquoted comma
                yield CsvRow(reader.line_num, {}, Message(
                    N_("The row has {found} values but the header has {expected} columns. "
                       "Put values that contain commas in double quotes."),
                    {"found": len(values), "expected": width}))
                continue
            # Hand-written files often stop a row at its last value: the rest are empty.
            if len(values) < width:
                values += [""] * (width - len(values))
            yield CsvRow(reader.line_num, dict(zip(columns, values, strict=True)))


def write_csv(path: Path, columns: Sequence[str], rows: Iterator[Sequence[object]]) -> int:
    """Writes a UTF-8 CSV with a header; returns the number of rows."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            count += 1
    return count


__all__ = ["CsvFile", "CsvRow", "iter_rows", "open_csv", "write_csv"]
