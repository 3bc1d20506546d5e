"""Reading rows from CSV (UTF-8 or Big5, comma or tab) and XLSX, within the size limits."""

import codecs
import csv
import io
import zipfile
from collections.abc import Generator, Iterable, Iterator, Sequence
from typing import NamedTuple

from service.declaration_files.model import MAX_XLSX_MEMBERS, Problem


class FileRefused(Exception):
    """The file cannot be read any further; carries the one problem that says why."""

    def __init__(self, row: int | None, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.problem = Problem(row, None, message_zh, message_en)


class RowFlag(NamedTuple):
    """Why a row cannot be read as cells: bytes that decode as nothing, or too many columns."""

    kind: str  # "undecodable" or "wide"
    columns: int


_Rows = Generator[tuple[int, Sequence[object], RowFlag | None], None, None]


class RowSource(NamedTuple):
    """A file opened for reading: its rows (Excel row number, cells, flag), their count when
    known, and the encoding found (`xlsx` for a workbook)."""

    rows: _Rows
    total: int | None
    encoding: str


_UNDECODABLE = RowFlag("undecodable", 0)


def _decode_csv(data: bytes) -> tuple[str, str, set[int]]:
    """Decode CSV bytes; return the text, the encoding and the lines (1-based) that would not decode.

    UTF-8 is tried first, then CP950. When neither decodes the whole file, the one with fewer
    bad lines wins, and its bad lines are replaced and reported. A line break never falls inside
    a UTF-8 or CP950 character, so decoding line by line is exact.
    """
    candidates: tuple[str, ...] = ("utf-8", "cp950")
    body = data
    if data.startswith(codecs.BOM_UTF8):
        body, candidates = data[len(codecs.BOM_UTF8) :], ("utf-8-sig",)
    for encoding in candidates:
        try:
            return body.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding, set()
        except UnicodeDecodeError:
            continue
    lines = body.splitlines(keepends=True)
    scored: list[tuple[int, int, str, set[int]]] = []
    for preference, encoding in enumerate(candidates):
        codec = "utf-8" if encoding == "utf-8-sig" else encoding
        bad: set[int] = set()
        for number, line in enumerate(lines, 1):
            try:
                line.decode(codec)
            except UnicodeDecodeError:
                bad.add(number)
        scored.append((len(bad), preference, encoding, bad))
    _, _, encoding, bad = min(scored, key=lambda score: score[:2])
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    return "".join(line.decode(codec, errors="replace") for line in lines), encoding, bad


def _decodes(data: bytes, start: int, codec: str) -> bool:
    """True when `data[start:]` decodes as `codec`; decoded a megabyte at a time and thrown away."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(data)
    step = 1 << 20
    try:
        for at in range(start, len(data), step):
            decoder.decode(view[at : at + step])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_source(data: bytes, max_columns: int) -> RowSource:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRefused(
            None,
            "檔案是 UTF-16（Excel 的「Unicode 文字」）；請另存為「CSV UTF-8（逗號分隔）」",
            'the file is UTF-16 (Excel\'s "Unicode Text"); save it as "CSV UTF-8 (Comma delimited)"',
        )
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    candidates = ("utf-8-sig",) if start else ("utf-8", "cp950")
    encoding = next((name for name in candidates if _decodes(data, start, name.removesuffix("-sig"))), None)
    lines: Iterable[str]
    if encoding is not None:
        # A file that decodes is read line by line straight from its bytes: a million rows never
        # exist as one decoded text (nor as its copy in a StringIO).
        codec = encoding.removesuffix("-sig")
        stream = io.BytesIO(data)
        stream.seek(start)
        lines = io.TextIOWrapper(stream, encoding=codec, newline="")
        head = data[start : start + 65536].decode(codec, errors="ignore")
        total = data.count(b"\n", start) or data.count(b"\r", start)
        ends_open = len(data) > start and data[-1:] not in (b"\r", b"\n")
        bad_lines: set[int] = set()
    else:
        text, encoding, bad_lines = _decode_csv(data)
        lines = io.StringIO(text, newline="")
        head = text[:65536]
        total = text.count("\n") or text.count("\r")
        ends_open = bool(text) and text[-1] not in "\r\n"
    first_line = next((line for line in head.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    if ends_open:
        total += 1
    return RowSource(_csv_rows(lines, delimiter, bad_lines, max_columns), total, encoding)


def _csv_rows(source: Iterable[str], delimiter: str, bad_lines: set[int], max_columns: int) -> _Rows:
    flags: dict[int, RowFlag] = dict.fromkeys(bad_lines, _UNDECODABLE)

    def lines() -> Iterator[str]:
        # A line with more delimiters than the column limit is not handed to the csv module,
        # which would build a list of every field: a 50 MB line of commas is 50 million of them.
        for number, line in enumerate(source, 1):
            delimiters = line.count(delimiter)
            if delimiters >= max_columns:
                flags.setdefault(number, RowFlag("wide", delimiters + 1))
                yield "\n"
            else:
                yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    row = 0
    previous_line = 0
    try:
        for cells in reader:
            row += 1
            flag = None
            if flags:
                flag = next((flags[n] for n in range(previous_line + 1, reader.line_num + 1) if n in flags), None)
            previous_line = reader.line_num
            yield row, cells, flag
    except csv.Error as error:
        raise FileRefused(
            row + 1,
            "CSV 格式錯誤，無法繼續讀取（可能是引號不成對，或一格太長）",
            f"the CSV cannot be read further ({error}); are the quotes balanced?",
        ) from error


def _xlsx_source(data: bytes, max_uncompressed_bytes: int) -> RowSource:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
        raise FileRefused(
            None, "不是有效的 XLSX 檔案（無法解開）", "not a valid XLSX file (it cannot be unzipped)"
        ) from error
    # The sizes the archive declares bound what zipfile will ever inflate, so checking their
    # sum before openpyxl opens anything stops a zip bomb.
    declared = sum(member.file_size for member in members)
    if len(members) > MAX_XLSX_MEMBERS or declared > max_uncompressed_bytes:
        raise FileRefused(
            None,
            f"XLSX 解壓後達 {declared:,} 位元組（{len(members)} 個成員），"
            f"超過上限 {max_uncompressed_bytes:,}；拒絕讀取",
            f"the XLSX would unpack to {declared:,} bytes in {len(members)} members, over the limit of "
            f"{max_uncompressed_bytes:,}; refused",
        )
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise FileRefused(
            None, "不是 XLSX 活頁簿（缺少 [Content_Types].xml）", "not an XLSX workbook (no [Content_Types].xml)"
        )

    import openpyxl  # imported here: CSV imports do not pay for it
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged workbook
        raise FileRefused(None, "XLSX 檔案已損壞，無法開啟", "the XLSX file is damaged and cannot be opened") from error
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    if not isinstance(sheet, ReadOnlyWorksheet):
        workbook.close()
        raise FileRefused(None, "XLSX 檔案中沒有工作表", "the XLSX file has no worksheet")
    declared_rows = sheet.max_row
    # The <dimension> element is only a hint and some writers get it wrong; openpyxl stops at
    # the declared last row unless it is forgotten, which would silently drop declarants.
    sheet.reset_dimensions()

    def rows() -> _Rows:
        number = 0
        try:
            for values in sheet.iter_rows(values_only=True):
                number += 1
                yield number, values, None
        except Exception as error:  # a damaged sheet: any parser error ends the read
            raise FileRefused(
                number + 1,
                "XLSX 工作表內容損壞，無法繼續讀取",
                "the XLSX worksheet is damaged and cannot be read further",
            ) from error
        finally:
            workbook.close()

    total = declared_rows if isinstance(declared_rows, int) and declared_rows > 0 else None
    return RowSource(rows(), total, "xlsx")


def open_source(data: bytes, filename: str, max_columns: int, max_uncompressed_bytes: int) -> RowSource:
    suffix = filename.rsplit(".", 1)[-1].casefold() if "." in filename else ""
    is_zip = data.startswith(b"PK\x03\x04")
    is_ole = data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    if is_ole:
        raise FileRefused(
            None,
            "這是舊版 Excel（.xls）或加密的活頁簿；請移除密碼並另存為 .xlsx 或 CSV UTF-8",
            "this is an old Excel (.xls) or password-protected workbook; remove the password and save as .xlsx "
            "or CSV UTF-8",
        )
    if suffix == "xlsx":
        if not is_zip:
            raise FileRefused(
                None, "副檔名是 .xlsx，但內容不是 XLSX", "the name ends in .xlsx but the file is not XLSX"
            )
        return _xlsx_source(data, max_uncompressed_bytes)
    if suffix in ("csv", "txt", "tsv"):
        if is_zip:
            raise FileRefused(
                None,
                "這是 XLSX 活頁簿，副檔名卻是 .csv；請改名為 .xlsx",
                "this is an XLSX workbook named as a CSV; rename it to .xlsx",
            )
        return _csv_source(data, max_columns)
    raise FileRefused(
        None,
        "只接受 CSV 或 XLSX 檔案（副檔名 .csv 或 .xlsx）",
        "only CSV and XLSX files are accepted (names ending in .csv or .xlsx)",
    )
