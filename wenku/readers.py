"""Turn the bytes of an uploaded or imported file into plain text.

Each reader raises :class:`UnreadableFile` with a reason a person can act on;
nothing else escapes, so one bad file never stops a batch.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import PurePath

from . import texts
from .errors import UnreadableFile

__all__ = ["SUPPORTED_SUFFIXES", "MAX_FILE_BYTES", "read_text", "decode_text"]

SUPPORTED_SUFFIXES = (".txt", ".docx", ".md", ".pdf")
MAX_FILE_BYTES = 20 * 1024 * 1024
#: A .docx is a zip: refuse one that would inflate past this (a zip bomb).
MAX_DOCX_INFLATED = 50 * 1024 * 1024
#: Tags in word/document.xml. python-docx builds objects for every element: 8 million
#: empty paragraphs (48 MB, inside the limit above, a 107 KB file) took 75 s and 2.7 GB.
#: A real document spends a hundred bytes or more per tag: a million would be 100 MB of
#: markup, twice the inflation limit. At the limit, the reader needs ~5 s and ~200 MB.
MAX_DOCX_TAGS = 1_000_000


def _cjk_ratio(text: str) -> float:
    if not text:
        return 0.0
    cjk = sum(1 for char in text if "\u4e00" <= char <= "\u9fff")
    return cjk / len(text)


def decode_text(name: str, data: bytes) -> str:
    """Decode .txt bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:  # an odd length or a lone surrogate: not a UTF-16 text after all
            raise UnreadableFile(name, texts.unknown_encoding()) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _cjk_ratio(text) > 0.2:
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    if text is not None:
        return text
    raise UnreadableFile(name, texts.unknown_encoding())


def _read_docx(name: str, data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
            if inflated > MAX_DOCX_INFLATED:
                raise UnreadableFile(name, texts.docx_inflates_too_much())
            if "word/document.xml" not in archive.namelist():
                raise UnreadableFile(name, texts.not_a_word_document())
            # The sizes above are what the archive declares. A part that inflates past its
            # declared size would cost python-docx gigabytes before its checksum fails;
            # testzip inflates each part in small chunks and catches the lie first.
            if archive.testzip() is not None:
                raise UnreadableFile(name, texts.not_a_docx_file())
            if archive.read("word/document.xml").count(b"<") > MAX_DOCX_TAGS:
                raise UnreadableFile(name, texts.docx_too_many_elements())
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise UnreadableFile(name, texts.not_a_docx_file()) from None
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many kinds on a malformed package
        raise UnreadableFile(name, texts.docx_unparsable(type(error).__name__)) from None
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


_MARKDOWN_PREFIX = re.compile(r"^\s{0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+\.\s+)")
_MARKDOWN_INLINE = re.compile(r"(\*\*|__|`|~~)")
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _read_markdown(name: str, data: bytes) -> str:
    lines = []
    for line in decode_text(name, data).splitlines():
        if re.fullmatch(r"\s*([-*_]\s*){3,}", line) or line.strip().startswith("```"):
            continue
        line = _MARKDOWN_PREFIX.sub("", line)
        line = _MARKDOWN_LINK.sub(r"\1", line)
        lines.append(_MARKDOWN_INLINE.sub("", line))
    return "\n".join(lines)


def _read_pdf(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableFile(name, texts.pdf_encrypted())
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    except UnreadableFile:
        raise
    # PyPdfError covers damaged files and pypdf's own limits (a page that inflates too far);
    # RecursionError a page tree that contains itself.
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as error:
        raise UnreadableFile(name, texts.pdf_damaged(type(error).__name__)) from None
    if not text.strip():
        raise UnreadableFile(name, texts.pdf_without_text())
    return text


def read_text(name: str, data: bytes) -> str:
    """The text of a file named ``name`` (the suffix picks the reader)."""
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(name, texts.unsupported_file_type(SUPPORTED_SUFFIXES))
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(name, texts.file_too_large(MAX_FILE_BYTES // (1024 * 1024)))
    if not data.strip():
        raise UnreadableFile(name, texts.empty_file())
    if suffix == ".docx":
        text = _read_docx(name, data)
    elif suffix == ".pdf":
        text = _read_pdf(name, data)
    elif suffix == ".md":
        text = _read_markdown(name, data)
    else:
        text = decode_text(name, data)
    if "\x00" in text:
        raise UnreadableFile(name, texts.not_text_content())
    return text
