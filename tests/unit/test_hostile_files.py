"""Hostile files at the core: zip bombs, malformed .docx and .pdf, odd text, names that are
paths, and a download that never quite ends.

Every file here is refused by ``read_text`` with a reason a person can act on (or imported
under a plain name), and ``import_document`` never raises for it and stores nothing. Zip
bombs are built by hand in a few milliseconds: a raw deflate stream of zeros, flushed at
every MiB so that each further MiB is the same 1,036 bytes, which are repeated; the archive
around them is written with struct, so its directory can say whatever a test needs.
Memory is measured with tracemalloc: Python's zipfile allocates what it inflates as bytes.

Bugs found here and fixed since: a broken UTF-16 text, and a PDF page that inflates past
pypdf's limit, escaped as exceptions; a .docx whose directory understates a part cost
gigabytes before failing; a trickled download never timed out.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docx
import httpx
import pytest

from wenku import texts
from wenku.downloads import DownloadFailed, fetch_bytes
from wenku.errors import UnreadableFile
from wenku.importer import import_document
from wenku.readers import MAX_DOCX_INFLATED, MAX_DOCX_TAGS, read_text

from .conftest import NOW
from .fixtures import pdf_file

MiB = 1024 * 1024
GiB = 1024 * MiB
#: What reading a refused file may allocate at most: nothing near what a bomb inflates to.
MEMORY_BOUND = 64 * MiB

SPEECH = "在全市工会工作会议上的讲话\n同志们：\n各级工会组织要认真落实职工维权机制，帮助职工追回欠薪，调解劳动争议。"


# -- building archives ---------------------------------------------------------------------------------


@cache
def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` zero bytes (a multiple of 1 MiB), and their CRC-32."""
    assert size % MiB == 0
    zeros = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After the first MiB the window is all zeros, so every further MiB compresses the same.
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    steady = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    stream = first + steady * (size // MiB - 1) + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(zeros, crc)
    return stream, crc


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def zip_archive(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, deflated bytes, CRC-32, size its directory declares) entries."""
    out = io.BytesIO()
    directory = []
    for name, stream, crc, size in entries:
        offset = out.tell()
        encoded = name.encode("utf-8")
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(stream), size, len(encoded), 0))
        out.write(encoded + stream)
        directory.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(stream), size, len(encoded), 0, 0, 0, 0, 0, offset
            )
            + encoded
        )
    start = out.tell()
    central = b"".join(directory)
    out.write(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0))
    return out.getvalue()


@cache
def docx_parts(text: str = SPEECH) -> dict[str, bytes]:
    """The parts of a real .docx holding ``text``, one paragraph per line."""
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {info.filename: archive.read(info.filename) for info in archive.infolist()}


def docx_with(parts: dict[str, bytes]) -> bytes:
    return zip_archive([(name, deflated(data), zlib.crc32(data), len(data)) for name, data in parts.items()])


def docx_bomb(part: str, size: int, *, declared: int | None = None) -> bytes:
    """A real .docx whose ``part`` is ``size`` zero bytes; its directory says ``declared`` (default: the truth)."""
    stream, crc = deflated_zeros(size)
    entries = [(name, deflated(data), zlib.crc32(data), len(data)) for name, data in docx_parts().items() if name != part]
    entries.append((part, stream, crc, size if declared is None else declared))
    return zip_archive(entries)


def refusal(name: str, data: bytes) -> tuple[str, int]:
    """Why ``read_text`` refuses the file, and the most memory it allocated meanwhile."""
    tracemalloc.start()
    try:
        with pytest.raises(UnreadableFile) as refused:
            read_text(name, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.name == name
    return refused.value.reason, peak


def test_the_handmade_archive_is_a_docx_the_reader_reads():
    """So that the refusals below are about the bomb, not about the archive."""
    assert read_text("讲话.docx", docx_with(docx_parts())) == SPEECH


# -- zip bombs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("part", ["word/document.xml", "word/media/image1.png", "customXml/item1.xml"])
def test_a_docx_inflating_to_gigabytes_is_refused_without_inflating_it(part: str):
    bomb = docx_bomb(part, 2 * GiB)
    assert len(bomb) < 3 * MiB

    reason, peak = refusal("炸弹.docx", bomb)

    assert reason == texts.docx_inflates_too_much() == "文件解压后过大，疑似压缩炸弹"
    assert peak < MEMORY_BOUND


def test_a_docx_just_over_the_limit_is_refused_and_one_at_the_limit_is_not_called_a_bomb():
    over = docx_bomb("word/media/image1.png", MAX_DOCX_INFLATED + MiB)
    within = docx_bomb("word/media/image1.png", MAX_DOCX_INFLATED - MiB)

    assert refusal("大.docx", over)[0] == texts.docx_inflates_too_much()
    assert read_text("大.docx", within) == SPEECH  # the unused part is never read


def test_a_refused_bomb_stores_nothing(store):
    outcome = import_document(store, "炸弹.docx", docx_bomb("word/document.xml", 2 * GiB), now=NOW)

    assert (outcome.status, outcome.reason) == ("failed", texts.docx_inflates_too_much())
    assert store.document_count() == 0


def test_a_docx_whose_directory_understates_a_bomb_is_refused_in_bounded_memory():
    bomb = docx_bomb("word/document.xml", 256 * MiB, declared=3000)

    reason, peak = refusal("说小了.docx", bomb)  # refused today too, as 无法解析：BadZipFile, but only after the 256 MiB

    assert peak < MEMORY_BOUND, reason


def _with_empty_paragraphs(count: int) -> bytes:
    parts = dict(docx_parts())  # a copy: docx_parts is cached
    parts["word/document.xml"] = parts["word/document.xml"].replace(b"</w:body>", b"<w:p/>" * count + b"</w:body>")
    return docx_with(parts)


def test_a_docx_of_millions_of_empty_paragraphs_is_refused_before_it_is_parsed(store):
    # Small when zipped and inside the inflation limit, yet python-docx would spend about
    # 10 s and 400 MB on it; the tags are counted in the markup (6 MB) instead.
    bomb = _with_empty_paragraphs(MAX_DOCX_TAGS)
    assert len(bomb) < 200 * 1024

    reason, peak = refusal("空段落.docx", bomb)

    assert reason == texts.docx_too_many_elements()
    assert peak < MEMORY_BOUND
    outcome = import_document(store, "空段落.docx", bomb, now=NOW)
    assert (outcome.status, outcome.reason, store.document_count()) == ("failed", texts.docx_too_many_elements(), 0)


def test_a_docx_with_many_paragraphs_below_the_tag_limit_is_read():
    assert read_text("长.docx", _with_empty_paragraphs(100_000)).startswith(SPEECH)


# -- malformed .docx -------------------------------------------------------------------------------------

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def document_xml(body: str, doctype: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<w:document {W}><w:body>{body}</w:body></w:document>'.encode()


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def replaced(name: str, data: bytes | None) -> bytes:
    """The speech's .docx with part ``name`` replaced by ``data`` (None: removed)."""
    parts = dict(docx_parts())
    if data is None:
        del parts[name]
    else:
        parts[name] = data
    return docx_with(parts)


def billion_laughs() -> bytes:
    entities = '<!ENTITY a "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY {chr(98 + level)} "{f"&{chr(97 + level)};" * 10}">' for level in range(9)
    )
    return document_xml(paragraph("&j;"), f"<!DOCTYPE w:document [{entities}]>")


def truncated_docx() -> bytes:
    data = docx_with(docx_parts())
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (replaced("word/document.xml", b"<w:document><w:body><w:p>not closed"), "Word 文档无法解析：XMLSyntaxError"),
        (replaced("word/document.xml", b"\x00\xff" * 500), "Word 文档无法解析：XMLSyntaxError"),
        (replaced("word/document.xml", billion_laughs()), "Word 文档无法解析：XMLSyntaxError"),
        (
            replaced("word/document.xml", document_xml("<w:p>" * 300_000 + "</w:p>" * 300_000)),
            "Word 文档无法解析：XMLSyntaxError",  # lxml refuses nesting past 256 levels
        ),
        (replaced("word/document.xml", None), "不是有效的 Word 文档"),
        (replaced("[Content_Types].xml", None), "Word 文档无法解析：KeyError"),
        (truncated_docx(), "不是有效的 .docx 文件（文件损坏或格式不符）"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000), "不是有效的 .docx 文件（文件损坏或格式不符）"),  # an old .doc renamed
        (b"PK\x03\x04" + bytes(100), "不是有效的 .docx 文件（文件损坏或格式不符）"),
    ],
    ids=["not-xml", "binary-xml", "billion-laughs", "deep-nesting", "no-document", "no-content-types", "truncated", "ole-doc", "zip-header-only"],
)
def test_a_malformed_docx_is_refused_with_a_reason(store, data: bytes, reason: str):
    assert refusal("坏文档.docx", data)[0] == reason
    outcome = import_document(store, "坏文档.docx", data, now=NOW)
    assert (outcome.status, outcome.reason) == ("failed", reason)
    assert store.document_count() == 0


def test_an_external_entity_in_a_docx_is_not_read_from_disk(tmp_path: Path):
    """XXE: a document.xml naming a local file must not pull its content into the library."""
    secret = tmp_path / "secret.txt"
    secret.write_text("绝密内容不应出现", encoding="utf-8")
    doctype = f'<!DOCTYPE w:document [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>'
    data = replaced("word/document.xml", document_xml(paragraph(SPEECH.splitlines()[2] + "&leak;"), doctype))

    # python-docx parses with resolve_entities=False: the reference is dropped, the file never opened.
    assert read_text("外部实体.docx", data) == SPEECH.splitlines()[2]


# -- malformed .pdf ---------------------------------------------------------------------------------------


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
ONE_PAGE = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def content(stream: bytes, *, flate: bool = False) -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(stream), b" /Filter /FlateDecode" if flate else b"") + stream + b"\nendstream"


def text_pdf(stream: bytes, *, flate: bool = False) -> bytes:
    return pdf_file([CATALOG, ONE_PAGE, PAGE, content(stream, flate=flate), FONT])


def encrypted_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(300, 300)
    writer.encrypt("口令", algorithm="RC4-40")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def spaces_flate_bomb(size: int) -> bytes:
    """A content stream of ``size`` bytes of spaces (a multiple of 1 MiB), flate-compressed."""
    compressor = zlib.compressobj(9)
    chunk = b" " * MiB
    return b"".join(compressor.compress(chunk) for _ in range(size // MiB)) + compressor.flush()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.4\n" + bytes(range(256)) * 40, "PDF 文件损坏：PdfStreamError"),
        (text_pdf(b"BT /F1 12 Tf 20 200 Td (Union work report) Tj ET")[:300], "PDF 文件损坏：PdfStreamError"),
        (pdf_file([CATALOG, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]), "PDF 文件损坏：PdfReadError"),  # its own child
        (pdf_file([b"<< /Type /Catalog /Pages 2 0 R /Nest " + b"[" * 20_000 + b"]" * 20_000 + b" >>", ONE_PAGE]), "PDF 文件损坏：PdfReadError"),
        (b"%PDF-1.4\ntrailer\n<< /Size 1 >>\n%%EOF\n", "PDF 文件损坏：PdfReadError"),
        (encrypted_pdf(), "PDF 已加密，无法读取"),
        (pdf_file([CATALOG, b"<< /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 999999999 >>", PAGE, content(b""), FONT]), "PDF 中没有可提取的文字（可能是扫描件）"),
        (text_pdf(b"[CQ:at,qq=all] (((( BT ET ET BT"), "PDF 中没有可提取的文字（可能是扫描件）"),
    ],
    ids=["garbage", "truncated", "cyclic-page-tree", "deep-nesting", "no-root", "encrypted", "lying-page-count", "broken-operators"],
)
def test_a_malformed_pdf_is_refused_with_a_reason(store, data: bytes, reason: str):
    assert refusal("坏文件.pdf", data)[0] == reason
    outcome = import_document(store, "坏文件.pdf", data, now=NOW)
    assert (outcome.status, outcome.reason) == ("failed", reason)
    assert store.document_count() == 0


def test_a_pdf_whose_page_inflates_past_pypdfs_limit_is_refused(store):
    bomb = text_pdf(spaces_flate_bomb(100 * MiB), flate=True)
    assert len(bomb) < 200 * 1024

    outcome = import_document(store, "炸弹.pdf", bomb, now=NOW)

    assert (outcome.status, outcome.reason) == ("failed", texts.pdf_damaged("LimitReachedError"))


# -- odd text ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("空白.txt", "\u3000 \n\t\r\n".encode(), "正文太短或没有正文"),  # not empty as bytes, no text either
        ("零.txt", b"\x00" * 4096, "文件内容不是文字（可能是二进制文件改了后缀）"),
        ("程序.txt", b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 8, "无法识别文字编码（支持 UTF-8、GBK、GB18030）"),
        ("夹带.md", "# 标题\n正文\x00正文".encode(), "文件内容不是文字（可能是二进制文件改了后缀）"),
        ("短.txt", "[CQ:at,qq=all]".encode(), "正文太短或没有正文"),
    ],
)
def test_text_that_is_no_document_is_refused(store, name: str, data: bytes, reason: str):
    outcome = import_document(store, name, data, now=NOW)

    assert (outcome.status, outcome.reason) == ("failed", reason)
    assert store.document_count() == 0


@pytest.mark.parametrize(
    "data", [b"\xff\xfe" + "讲话".encode("utf-16-le") + b"A", b"\xff\xfe\x00\xd8" + "讲话".encode("utf-16-le")], ids=["odd-length", "lone-surrogate"]
)
def test_a_broken_utf16_file_is_refused(store, data: bytes):
    outcome = import_document(store, "坏编码.txt", data, now=NOW)

    assert outcome.status == "failed"
    assert store.document_count() == 0


# -- names that are paths ---------------------------------------------------------------------------------


def every_file(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("../../../../tmp/逃逸.txt", "逃逸.txt"),
        ("/etc/cron.d/逃逸.txt", "逃逸.txt"),
        ("./讲话.md", "讲话.md"),
        ("a/b/../../讲话.txt", "讲话.txt"),
        ("讲话\x00.exe.txt", "讲话\x00.exe.txt"),
        ("讲" * 1000 + ".txt", "讲" * 1000 + ".txt"),
        ("....txt", "....txt"),
        ("讲话.TXT", "讲话.TXT"),
        # On Linux a backslash is part of a name: the chat and console importers cut Windows
        # paths themselves (wenku_bot.sharing_jobs.import_bytes); the core keeps the name whole.
        ("..\\..\\讲话.txt", "..\\..\\讲话.txt"),
    ],
)
def test_a_file_named_like_a_path_is_stored_under_its_last_part_and_nothing_is_written(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str
):
    monkeypatch.chdir(tmp_path)  # a relative name would land here if anything wrote by it

    outcome = import_document(store, name, SPEECH.encode(), now=NOW)

    assert outcome.status == "imported", outcome
    assert store.get_document(outcome.document_id).source == source
    assert every_file(tmp_path) == set()
    assert not Path("/tmp/逃逸.txt").exists()


@pytest.mark.parametrize("name", ["", ".", "..", "...", "/", "../", "\x00", ".txt", "讲话.txt.exe", "讲话.docx\x00.exe", "讲话"])
def test_a_name_without_a_document_suffix_is_refused(store, name: str):
    outcome = import_document(store, name, SPEECH.encode(), now=NOW)

    assert (outcome.status, outcome.reason) == ("failed", texts.unsupported_file_type((".txt", ".docx", ".md", ".pdf")))
    assert store.document_count() == 0


# -- downloads --------------------------------------------------------------------------------------------


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """An address whose body comes a few bytes every 0.25 s, for 3 s in all (each read is quick)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            line = "慢慢来。\n".encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Length", str(len(line) * 12))
            self.end_headers()
            try:
                for _ in range(12):
                    self.wfile.write(line)
                    self.wfile.flush()
                    time.sleep(0.25)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up: its right

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/慢.txt"
    server.shutdown()
    server.server_close()


async def test_a_download_trickled_slower_than_its_timeout_is_cut_at_the_timeout(trickling_server: str):
    started = time.monotonic()
    async with httpx.AsyncClient() as client:
        with pytest.raises(DownloadFailed) as failed:
            await fetch_bytes(client, trickling_server, "慢.txt", timeout=1.0)

    assert failed.value.reason == "下载超时"
    assert time.monotonic() - started < 2.5
