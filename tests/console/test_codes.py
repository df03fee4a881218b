"""Redeem codes in the console: shown once when generated, kept only as hashes, downloadable, voidable."""

import hashlib
import re

import pytest

from wenku import codes
from wenku.durations import parse_duration
from wenku.errors import CodeRefused

from .conftest import ADMIN, NOW, NOW_TEXT, hidden, message, rows, snapshot, table_rows

CODE = re.compile(r"^[2-9A-HJKMNP-Z]{5}(-[2-9A-HJKMNP-Z]{5}){3}$")


def shown_codes(page: str) -> list[str]:
    return re.search(r'<pre class="card codes" id="new-codes">(.*?)</pre>', page, re.S).group(1).split("\n")


async def generate(admin, count: str = "3", duration: str = "1年") -> list[str]:
    response = await admin.post("/admin/codes/generate", {"count": count, "duration": duration})
    assert response.status_code == 200, response.text
    return shown_codes(response.text)


async def test_generated_codes_are_shown_once_and_stored_only_as_hashes(admin, store):
    response = await admin.post("/admin/codes/generate", {"count": "3", "duration": "1年"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "<h1>已生成 3 个卡密（1年）</h1>" in response.text
    made = shown_codes(response.text)
    assert len(made) == 3 and len(set(made)) == 3
    assert all(CODE.match(code) for code in made), made
    assert [
        {key: row[key] for key in ("id", "code_hash", "duration", "created_at", "created_by", "used_at", "voided_at")}
        for row in rows(store, "codes")
    ] == [
        {
            "id": number,
            "code_hash": hashlib.sha256(code.replace("-", "").encode()).hexdigest(),
            "duration": "1年",
            "created_at": NOW_TEXT,
            "created_by": "网页后台",
            "used_at": None,
            "voided_at": None,
        }
        for number, code in enumerate(made, 1)
    ]
    # No table holds a code's text, with or without its dashes.
    everything = repr(snapshot(store))
    for code in made:
        assert code not in everything and code.replace("-", "") not in everything
    # The list page never shows them again.
    listing = (await admin.get("/admin/codes")).text
    for code in made:
        assert code not in listing and code.replace("-", "") not in listing


async def test_a_generated_code_works_in_chat(admin, store):
    [code] = await generate(admin, "1", "7天")
    membership = codes.redeem(store, "30001", code.lower(), now=NOW)
    assert membership.valid_until.isoformat() == "2026-12-01T02:00:00+00:00"


async def test_the_list_shows_each_codes_state(admin, store):
    codes.generate(store, 3, parse_duration("1月"), now=NOW, actor=ADMIN)
    store.db.execute("UPDATE codes SET used_at = ?, used_by = '30001' WHERE id = 1", [NOW_TEXT])
    store.void_code(2, NOW, ADMIN)
    page = (await admin.get("/admin/codes")).text
    assert table_rows(page, "codes") == [
        ["编号", "时长", "生成", "状态", ""],
        ["#3", "1个月", "2026-11-24 10:00", "未使用", "作废"],
        ["#2", "1个月", "2026-11-24 10:00", "已作废", ""],
        ["#1", "1个月", "2026-11-24 10:00", "已用： 30001", ""],
    ]


async def test_downloading_gives_exactly_the_codes_as_a_text_file(admin, store, clock):
    response = await admin.post("/admin/codes/generate", {"count": "2", "duration": "永久"})
    made = shown_codes(response.text)
    clock.advance(minutes=5, seconds=7)
    download = await admin.post("/admin/codes/download", {"codes": hidden(response.text, "codes")})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-disposition"] == 'attachment; filename="wenku-codes-20261124-100507.txt"'
    assert download.headers["cache-control"] == "no-store"
    assert download.text == f"{made[0]}\r\n{made[1]}\r\n"


async def test_a_download_keeps_only_lines_that_are_codes(admin, store):
    posted = "ABCDE-FGHJK-MNPQR-STUVW\r\n<script>alert(1)</script>\r\n\r\n  23456789ABCDEFGHJKMN  \r\nshort"
    download = await admin.post("/admin/codes/download", {"codes": posted})
    assert download.text == "ABCDE-FGHJK-MNPQR-STUVW\r\n23456789ABCDEFGHJKMN\r\n"
    assert rows(store, "codes") == []


async def test_voiding_an_unused_code(admin, store):
    made = await generate(admin, "2")
    response = await admin.post("/admin/codes/2/void")
    assert response.headers["location"] == "/admin/codes"
    assert await admin.flashes_after(response) == [("ok", "已作废卡密 #2。")]
    assert [(row["id"], row["voided_at"], row["voided_by"]) for row in rows(store, "codes")] == [
        (1, None, None),
        (2, NOW_TEXT, "网页后台"),
    ]
    # The voided code no longer works in chat; the other one still would.
    with pytest.raises(CodeRefused) as refused:
        codes.redeem(store, "30001", made[1], now=NOW)
    assert refused.value.reason == "void"


@pytest.mark.parametrize(
    ("setup", "code_id", "refusal"),
    [
        ("void", 1, "这个卡密已被作废。"),
        ("use", 1, "这个卡密已经被使用过了。"),
        (None, 99, "卡密无效，请检查是否输入正确（不区分大小写，横线可省略）。"),
    ],
)
async def test_voiding_a_code_that_cannot_be_voided(admin, store, setup, code_id, refusal):
    [code] = codes.generate(store, 1, parse_duration("1年"), now=NOW, actor=ADMIN)
    if setup == "void":
        codes.void(store, "#1", now=NOW, actor=ADMIN)
    elif setup == "use":
        codes.redeem(store, "30001", code, now=NOW)
    before = snapshot(store)
    response = await admin.post(f"/admin/codes/{code_id}/void")
    assert response.status_code == 400
    assert message(response.text) == refusal
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("count", "duration", "refusal"),
    [
        ("abc", "1年", "格式：生成卡密 数量 时长，例如：生成卡密 10 1年"),
        ("-1", "1年", "格式：生成卡密 数量 时长，例如：生成卡密 10 1年"),
        ("0", "1年", "一次最多生成 100 个卡密。"),
        ("101", "1年", "一次最多生成 100 个卡密。"),
        ("3", "一辈子", "看不懂时长「一辈子」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"),
    ],
)
async def test_a_bad_count_or_length_generates_nothing(admin, store, count, duration, refusal):
    response = await admin.post("/admin/codes/generate", {"count": count, "duration": duration})
    assert response.status_code == 400
    assert message(response.text) == refusal
    assert rows(store, "codes") == []
