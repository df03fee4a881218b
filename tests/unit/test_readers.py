import io

import docx
import pytest

from wenku.errors import UnreadableFile
from wenku.readers import read_text

from .fixtures import pdf_file

TEXT = "在全市工会工作会议上的讲话\n同志们：\n今天召开会议。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_txt_encodings_are_detected(encoding):
    assert read_text("a.txt", TEXT.encode(encoding)) == TEXT


def test_gb18030_only_characters():
    text = "工会𠀀讲话稿，会议记录与职工代表大会" * 3
    assert read_text("a.TXT", text.encode("gb18030")) == text


def test_docx_paragraphs_and_tables():
    document = docx.Document()
    document.add_paragraph("在全市工会工作会议上的讲话")
    document.add_paragraph("同志们：")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "工会"
    table.rows[0].cells[1].text = "维权"
    buffer = io.BytesIO()
    document.save(buffer)
    assert read_text("a.docx", buffer.getvalue()) == "在全市工会工作会议上的讲话\n同志们：\n工会 维权"


def test_markdown_syntax_is_removed():
    source = "# 在工会会议上的讲话\n\n**同志们**：\n- 第一，[维权](http://x)工作\n"
    assert read_text("a.md", source.encode()) == "在工会会议上的讲话\n\n同志们：\n第一，维权工作"


def _pdf(content_stream: bytes | None) -> bytes:
    """A minimal one-page PDF; with a content stream it shows ASCII text in Helvetica."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources << /Font << /F1 5 0 R >> >>"
    page += b" /Contents 4 0 R >>" if content_stream is not None else b" >>"
    objects.append(page)
    stream = content_stream or b""
    objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    return pdf_file(objects)


def test_pdf_text_is_extracted():
    assert "Union work report" in read_text("a.pdf", _pdf(b"BT /F1 12 Tf 20 200 Td (Union work report) Tj ET"))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("a.exe", b"MZ", "不支持的文件类型"),
        ("a.txt", b"   \n", "文件是空的"),
        ("a.docx", b"not a zip", "不是有效的 .docx 文件"),
        ("a.pdf", b"%PDF-1.4 garbage", "PDF 文件损坏"),
        ("a.pdf", _pdf(None), "没有可提取的文字"),
        ("a.txt", b"\x00\x01\x02\x00" * 10, "不是文字"),
    ],
)
def test_unreadable_files_say_why(name, data, reason):
    with pytest.raises(UnreadableFile) as raised:
        read_text(name, data)
    assert reason in raised.value.reason
    assert raised.value.name == name


def test_docx_zip_bomb_is_refused():
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * (60 * 1024 * 1024))
    with pytest.raises(UnreadableFile) as raised:
        read_text("bomb.docx", buffer.getvalue())
    assert "压缩炸弹" in raised.value.reason
