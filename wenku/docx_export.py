"""A delivered full text as a Word document, marks and all.

The caller marks the body first (:func:`wenku.watermark.mark_text`) and
builds the visible line (who it was delivered to, the delivery number, the
date; the string itself lives in :mod:`wenku.texts`). The document carries
that line three times, so that it survives the ways people strip a .docx:

* as the first paragraph, above the title;
* in the page footer of every page (kept when the body is copied into another
  file's template, and printed on paper);
* in the core properties (comments and identifier), which travel with the
  file even when both of the above are deleted.

The body becomes one paragraph per line, with the invisible clusters inside
the runs exactly where ``mark_text`` put them (a cluster never touches a line
break, so none is split between paragraphs). Pasting any part of it out of
Word keeps them.

Characters that XML 1.0 cannot hold (C0 controls other than tab, lone
surrogates, U+FFFE/U+FFFF) are dropped rather than letting python-docx
refuse the whole document; the library's cleaned texts hold none.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone

from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

__all__ = ["fulltext_docx"]

#: Chinese text falls back to this face in every style used (Word otherwise picks per machine).
EAST_ASIAN_FONT = "宋体"

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def _east_asian(style) -> None:
    """Give a style an East Asian font, which python-docx has no property for."""
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def fulltext_docx(title: str, marked_body: str, visible_line: str, *, moment: datetime | None = None) -> bytes:
    """The .docx bytes of one delivery.

    ``marked_body`` is the already marked text; ``visible_line`` the notice
    naming the delivery. ``moment`` (timezone-aware), when given, becomes the
    document's created and modified time; otherwise python-docx's template
    time (2013) is left, never the clock's.
    """
    if moment is not None and moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    title, marked_body, visible_line = (_xml_safe(part) for part in (title, marked_body, visible_line))
    document = Document()
    for name in ("Normal", "Title", "Heading 1"):
        _east_asian(document.styles[name])
    document.styles["Normal"].font.size = Pt(12)

    notice = document.add_paragraph()
    notice_run = notice.add_run(visible_line)
    notice_run.font.size = Pt(9)
    document.add_heading(title, level=1)
    for line in marked_body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        document.add_paragraph(line)

    footer = document.sections[0].footer
    footer.is_linked_to_previous = False
    footer.paragraphs[0].text = visible_line

    properties = document.core_properties
    properties.title = title
    properties.comments = visible_line
    properties.identifier = visible_line
    properties.author = ""
    properties.last_modified_by = ""
    if moment is not None:
        # python-docx writes the time as UTC without converting it.
        utc = moment.astimezone(timezone.utc)
        properties.created = utc
        properties.modified = utc

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
