"""Documents in the console: search and filters, a document's page, editing, deleting, restoring, uploads."""

import re

from .conftest import (
    ENVIRONMENT_BODY,
    ENVIRONMENT_TITLE,
    NOW,
    NOW_TEXT,
    SAFETY_TITLE,
    UNION_BODY,
    UNION_TITLE,
    document_file,
    message,
    rows,
    snapshot,
)

EDUCATION_MD = (
    "# 在全市教育工作会议上的讲话\n\n同志们：\n"
    "今天召开全市教育工作会议，主要任务是部署新学期学校建设、教师队伍建设和学生资助等重点工作。\n"
    "各地要把**教育**摆在优先发展的位置。\n"
).encode()


def listed_ids(page: str) -> list[int]:
    table = re.search(r'<table id="documents">(.*?)</table>', page, re.S).group(1)
    return [int(number) for number in re.findall(r'<a href="/admin/documents/(\d+)">', table)]


def summary(page: str) -> str:
    return " ".join(re.search(r'<p class="muted" id="summary">(.*?)</p>', page, re.S).group(1).split())


def upload_results(page: str) -> list[tuple[str, str, int | None]]:
    """(kind, message, the document it links to) for each uploaded file."""
    results = re.search(r'<ul id="results"[^>]*>(.*?)</ul>', page, re.S).group(1)
    lines = []
    for kind, text in re.findall(r'<li class="flash (\w+)">(.*?)</li>', results, re.S):
        link = re.search(r' <a href="/admin/documents/(\d+)">查看</a>$', text)
        lines.append((kind, text[: link.start()] if link else text, int(link.group(1)) if link else None))
    return lines


def document_row(store, document_id: int) -> tuple:
    row = store.db["documents"].get(document_id)
    return row["title"], row["category"], row["deleted_at"]


# -- listing and search ----------------------------------------------------------------------


async def test_without_a_query_the_newest_documents_come_first(admin, library):
    page = (await admin.get("/admin/documents")).text
    assert listed_ids(page) == [3, 2, 1]
    assert summary(page) == "共 3 篇，新的在前"


async def test_a_two_character_word_finds_title_hits_before_body_hits(admin, library):
    page = (await admin.get("/admin/documents", q="工会")).text
    assert listed_ids(page) == [1, 3]  # 1 has 工会 in its title, 3 only in its body
    assert summary(page) == "「工会」：2 篇"
    # The snippet marks the word, as the chat search does.
    assert "【工会】" in page


async def test_a_search_in_the_console_is_not_counted_as_a_members_search(admin, library):
    await admin.get("/admin/documents", q="工会")
    assert rows(library, "searches") == []


async def test_a_category_narrows_a_search(admin, library):
    page = (await admin.get("/admin/documents", q="工会", category="安全生产")).text
    assert listed_ids(page) == [3]
    assert summary(page) == "「工会」（安全生产）：1 篇"


async def test_a_category_alone_lists_that_category(admin, library):
    page = (await admin.get("/admin/documents", category="乡村振兴")).text
    assert listed_ids(page) == [2]
    assert summary(page) == "共 1 篇（乡村振兴），新的在前"
    assert '<option value="乡村振兴" selected>乡村振兴（1）</option>' in page


async def test_a_search_for_nothing_findable_says_how_to_search(admin, library):
    page = (await admin.get("/admin/documents", q="！？")).text
    assert listed_ids(page) == []
    assert '<div class="flash error">请在「搜索」后面写上关键词，例如：搜索 工会 维权</div>' in page


async def test_a_search_without_hits_lists_nothing(admin, library):
    page = (await admin.get("/admin/documents", q="航天")).text
    assert listed_ids(page) == []
    assert summary(page) == "「航天」：0 篇"


async def test_the_list_pages_by_twenty(admin, store):
    for number in range(1, 23):
        store.db["documents"].insert(
            {"title": f"第{number}篇", "category": "综合", "keywords": "[]", "body": "正文", "chars": 2,
             "content_hash": f"h{number}", "source": "x.txt", "imported_at": NOW_TEXT}
        )  # fmt: skip
    first = (await admin.get("/admin/documents")).text
    assert listed_ids(first) == list(range(22, 2, -1))
    assert "第 1/2 页" in first
    second = (await admin.get("/admin/documents", page="2")).text
    assert listed_ids(second) == [2, 1]
    assert "第 2/2 页" in second
    # A page past the end or a page that is no number is not an error page.
    assert (await admin.get("/admin/documents", page="999")).status_code == 200
    response = await admin.get("/admin/documents", page="abc")
    assert response.status_code == 400
    assert message(response.text) == "请求的参数不对，操作没有执行"


# -- one document -------------------------------------------------------------------------------


async def test_a_documents_page_shows_it_whole(admin, library):
    page = (await admin.get("/admin/documents/1")).text
    assert f"<h1>#1 {UNION_TITLE} </h1>" in page
    assert "工会 · 127 字 · 导入于 2026-11-24 10:00 · 来源 union.txt" in page
    assert "关键词：职工、任务、帮扶" in page
    assert "深化产业工人队伍建设改革" in page
    assert "还没有人领取过全文。" in page


async def test_a_document_that_does_not_exist(admin, library):
    response = await admin.get("/admin/documents/99")
    assert response.status_code == 404
    assert message(response.text) == "没有编号为 99 的文档，编号见搜索结果中的 # 后面的数字。"


async def test_a_documents_page_lists_who_received_it(admin, library):
    delivery = library.add_delivery(user_id="30001", document_id=1, now=NOW, format="file", group_id=None)
    library.set_delivery_status(delivery, "sent")
    failed = library.add_delivery(user_id="30002", document_id=1, now=NOW, format="text", group_id=None)
    library.set_delivery_status(failed, "failed")
    page = (await admin.get("/admin/documents/1")).text
    assert (
        '<tr><td>1</td><td><a href="/admin/members/30001">30001</a></td>'
        "<td>2026-11-24 10:00</td><td>文件</td><td>已发送</td></tr>"
    ) in page
    assert "30002" not in page  # a failed delivery put nothing in anyone's hands


async def test_editing_title_and_category(admin, library):
    response = await admin.post("/admin/documents/1/edit", {"title": "  在市总工会十届三次全委会议上的讲话 ", "category": "群团"})
    assert response.headers["location"] == "/admin/documents/1"
    assert await admin.flashes_after(response) == [("ok", "已保存")]
    assert document_row(library, 1) == ("在市总工会十届三次全委会议上的讲话", "群团", None)
    # The new title is searchable and the new category filters.
    assert listed_ids((await admin.get("/admin/documents", q="十届")).text) == [1]
    assert listed_ids((await admin.get("/admin/documents", category="群团")).text) == [1]


async def test_an_empty_title_is_refused_and_nothing_changes(admin, library):
    before = snapshot(library)
    response = await admin.post("/admin/documents/1/edit", {"title": "   ", "category": "工会"})
    assert response.status_code == 400
    assert message(response.text) == "新的标题或分类不能为空。"
    assert snapshot(library) == before


async def test_a_category_longer_than_twelve_characters_is_refused(admin, library):
    before = snapshot(library)
    response = await admin.post("/admin/documents/1/edit", {"title": UNION_TITLE, "category": "一二三四五六七八九十一二三"})
    assert response.status_code == 400
    assert message(response.text) == "新的标题或分类太长了。"
    assert snapshot(library) == before


async def test_deleting_hides_a_document_until_it_is_restored(admin, library):
    response = await admin.post("/admin/documents/1/delete")
    assert response.headers["location"] == "/admin/documents/1"
    assert await admin.flashes_after(response) == [("ok", "已删除 #1（可恢复）")]
    assert document_row(library, 1) == (UNION_TITLE, "工会", NOW_TEXT)
    assert listed_ids((await admin.get("/admin/documents", q="工会")).text) == [3]
    assert listed_ids((await admin.get("/admin/documents")).text) == [3, 2]
    bin_page = (await admin.get("/admin/documents", deleted="1")).text
    assert listed_ids(bin_page) == [1]
    assert summary(bin_page) == "回收站：1 篇"
    page = (await admin.get("/admin/documents/1")).text
    assert '<span class="tag bad">已删除</span>' in page
    assert 'action="/admin/documents/1/restore"' in page

    response = await admin.post("/admin/documents/1/restore")
    assert await admin.flashes_after(response) == [("ok", "已恢复 #1")]
    assert document_row(library, 1) == (UNION_TITLE, "工会", None)
    assert listed_ids((await admin.get("/admin/documents", q="工会")).text) == [1, 3]


async def test_deleting_twice_or_restoring_a_live_document_is_refused(admin, library):
    await admin.post("/admin/documents/1/delete")
    response = await admin.post("/admin/documents/1/delete")
    assert response.status_code == 400
    assert message(response.text) == "没有编号为 1 的文档，编号见搜索结果中的 # 后面的数字。"
    assert document_row(library, 1)[2] == NOW_TEXT
    response = await admin.post("/admin/documents/2/restore")
    assert response.status_code == 400
    assert document_row(library, 2)[2] is None


# -- uploads ----------------------------------------------------------------------------------


async def test_uploading_two_files_at_once_imports_both(admin, library, actions):
    response = await admin.post(
        "/admin/documents/upload",
        files=[
            ("files", ("环保.txt", document_file(ENVIRONMENT_TITLE, ENVIRONMENT_BODY), "text/plain")),
            ("files", ("edu.md", EDUCATION_MD, "text/markdown")),
        ],
    )
    assert response.status_code == 200
    assert "共 2 个文件，导入 2 个。" in response.text
    assert upload_results(response.text) == [
        ("ok", "已导入 #4 在全区生态环境保护大会上的讲话（生态环保） 关键词：生态环", 4),
        ("ok", "已导入 #5 在全市教育工作会议上的讲话（教育） 关键词：教育", 5),
    ]
    assert [(row["id"], row["title"], row["category"], row["source"]) for row in rows(library, "documents")][3:] == [
        (4, ENVIRONMENT_TITLE, "生态环保", "环保.txt"),
        (5, "在全市教育工作会议上的讲话", "教育", "edu.md"),
    ]
    # Through the bot's own import (so subscribers hear of it), as the console.
    assert [(name, actor) for name, _, actor in actions.imports] == [("环保.txt", "网页后台"), ("edu.md", "网页后台")]


async def test_an_upload_reports_each_file_and_stores_only_the_good_one(admin, library, actions):
    oversize = b"x" * (1024 * 1024 + 1)
    response = await admin.post(
        "/admin/documents/upload",
        files=[
            ("files", ("环保.txt", document_file(ENVIRONMENT_TITLE, ENVIRONMENT_BODY), "text/plain")),
            # The text of document 1 with other punctuation: still the same document.
            ("files", ("again.txt", document_file(UNION_TITLE, UNION_BODY.replace("，", ", ")), "text/plain")),
            ("files", ("setup.exe", b"MZ\x90\x00 not a document", "application/octet-stream")),
            ("files", ("huge.txt", oversize, "text/plain")),
            ("files", ("C:\\Users\\admin\\short.txt", "太短了".encode(), "text/plain")),
        ],
    )
    assert response.status_code == 200
    assert "共 5 个文件，导入 1 个。" in response.text
    assert upload_results(response.text) == [
        ("ok", "已导入 #4 在全区生态环境保护大会上的讲话（生态环保） 关键词：生态环", 4),
        ("warn", f"跳过 again.txt：与 #1 {UNION_TITLE} 完全相同", 1),
        ("error", "失败 setup.exe：不支持的文件类型（支持 .txt .docx .md .pdf）", None),
        ("error", "文件「huge.txt」没有导入：文件超过 1 MB", None),
        ("error", "失败 short.txt：正文太短或没有正文", None),
    ]
    assert [row["source"] for row in rows(library, "documents")] == ["union.txt", "rural.txt", "safety.txt", "环保.txt"]
    # The unsupported and the oversize file never reach the importer; a Windows path keeps only the name.
    assert [name for name, _, _ in actions.imports] == ["环保.txt", "again.txt", "short.txt"]
    assert actions.imports[2][1] == len("太短了".encode())


async def test_an_upload_without_files_is_refused(admin, library):
    response = await admin.post("/admin/documents/upload", {"note": "no file chosen"})
    assert response.status_code == 400
    assert message(response.text) == "没有选择文件"
    response = await admin.post("/admin/documents/upload", files=[("files", ("", b"", "application/octet-stream"))])
    assert response.status_code == 400


async def test_an_upload_larger_than_all_files_together_may_be_is_refused_unread(admin, library, actions):
    # 20 files of 1 MB and a megabyte of form: anything declared larger is refused before it is read.
    response = await admin.client.post(
        "/admin/documents/upload",
        content=b"--x--\r\n",
        headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(21 * 1024 * 1024 + 1)},
    )
    assert response.status_code == 413
    assert message(response.text) == "上传内容太大：单个文件不超过 1 MB"
    assert actions.imports == []


async def test_an_upload_of_unknown_length_is_refused(admin, library, actions):
    async def body():
        yield b"--x--\r\n"

    response = await admin.client.post(
        "/admin/documents/upload", content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 411
    assert message(response.text) == "请求缺少长度信息，操作没有执行；请用浏览器里的表单提交"
    assert actions.imports == []


async def test_more_than_twenty_files_at_once_are_refused(admin, library, actions):
    files = [("files", (f"{number}.txt", b"x", "text/plain")) for number in range(21)]
    before = snapshot(library)
    response = await admin.post("/admin/documents/upload", files=files)
    assert response.status_code == 400
    assert message(response.text) == "一次最多上传 20 个文件"
    assert snapshot(library) == before
    assert actions.imports == []


async def test_document_titles_are_shown_as_text_never_as_markup(admin, store):
    title = "<script>alert(1)</script>[CQ:at,qq=all]关于<b>工会</b>的讲话"
    store.db["documents"].insert(
        {"title": title, "category": "工会", "keywords": "[]", "body": "<img src=x onerror=alert(2)>正文",
         "chars": 10, "content_hash": "h", "source": "x.txt", "imported_at": NOW_TEXT}
    )  # fmt: skip
    for path in ("/admin/documents", "/admin/documents/1"):
        page = (await admin.get(path)).text
        assert "<script>" not in page and "<b>工会</b>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;[CQ:at,qq=all]关于&lt;b&gt;工会&lt;/b&gt;的讲话" in page
    assert "&lt;img src=x onerror=alert(2)&gt;正文" in page
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;[CQ:at,qq=all]关于&lt;b&gt;工会&lt;/b&gt;的讲话"' in page
    assert SAFETY_TITLE not in page
