from wenku.cleaning import DEFAULT_BOILERPLATE, clean, compile_patterns, recurring_lines

from .fixtures import UNION_BODY, UNION_TITLE, distributed

PATTERNS = compile_patterns(DEFAULT_BOILERPLATE)


def test_every_advertising_line_of_the_distributed_shape_is_removed():
    cleaned = clean(distributed(UNION_TITLE, UNION_BODY), "x.txt", PATTERNS)
    assert cleaned.title == UNION_TITLE
    assert cleaned.body == UNION_BODY
    assert cleaned.removed == (
        "仅供学习 禁止外传",
        "酷乐文行",
        "自建平台、实时分享",
        "根据实际需求和形式任务不断迭代",
        "现在订阅立享前3年的所有权益和资料",
        "【打击倒卖活动】",
        "举报倒卖会员资料的人，举报成功免费赠送一年会员材料！",
        "会员群：                      免费QQ群：",
        "酷乐文行整理，咨询QQ10000",
        "酷乐文行整理，咨询QQ10000",
    )


def test_a_long_paragraph_mentioning_an_advert_word_is_kept():
    paragraph = "要严格执行保密纪律，涉密文件一律禁止外传，" * 4
    cleaned = clean(f"标题\n{paragraph}", "x.txt", PATTERNS)
    assert cleaned.body == paragraph.strip()


def test_title_falls_back_to_the_file_name_then_the_first_sentence():
    assert clean("同志们：\n今天开会。", "012_在团代会上的讲话.txt", PATTERNS).title == "在团代会上的讲话"
    assert clean("同志们：\n今天开会。", "2fcd338af7c5b399.txt", PATTERNS).title == "今天开会"


def test_recurring_lines_are_found_but_salutations_are_not():
    texts = [f"本材料由某某书社提供\n标题{i}\n同志们：\n正文{i}。" for i in range(5)]
    assert recurring_lines(texts) == frozenset({"本材料由某某书社提供"})
    cleaned = clean(texts[0], "a.txt", PATTERNS, recurring_lines(texts))
    assert (cleaned.title, cleaned.body) == ("标题0", "同志们：\n正文0。")


def test_the_shared_sample_is_cleaned_completely():
    import pathlib

    import pytest

    sample = pathlib.Path(__file__).resolve().parents[3] / "shared" / "samples" / "000_2fcd338af7c5b399.txt"
    if not sample.exists():
        pytest.skip("shared sample not present")
    cleaned = clean(sample.read_text(encoding="utf-8"), sample.name, PATTERNS)
    assert cleaned.title == "在市总工会党组（扩大）会上的讲话"
    assert cleaned.body.startswith("同志们：\n最近，省委、省政府")
    assert not any(word in cleaned.body for word in ("酷乐文行", "咨询QQ", "订阅立享", "打击倒卖", "免费QQ群"))
