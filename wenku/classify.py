"""Categories (rules of words, editable by admins) and keywords of a document."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from .textnorm import normalize, word_runs

__all__ = ["DEFAULT_CATEGORY", "DEFAULT_CATEGORY_RULES", "categorize", "extract_keywords", "merge_rules"]

DEFAULT_CATEGORY = "综合"

#: Ordered: on a tie the earlier category wins.
DEFAULT_CATEGORY_RULES: dict[str, tuple[str, ...]] = {
    "党建": ("党建", "党组", "党委", "党支部", "主题教育", "党史", "党员", "组织生活", "理论学习"),
    "纪检监察": ("廉政", "纪检", "监察", "反腐", "作风建设", "巡察", "巡视", "纪律"),
    "工会": ("工会", "职工", "劳模", "劳动关系"),
    "共青团": ("共青团", "团委", "团员", "青年"),
    "乡村振兴": ("乡村振兴", "农村", "农业", "脱贫", "三农", "农民"),
    "安全生产": ("安全生产", "安全隐患", "应急管理", "消防", "事故"),
    "经济发展": ("营商环境", "招商", "经济", "产业", "项目建设", "民营企业"),
    "教育": ("教育", "学校", "教师", "学生", "校园"),
    "生态环保": ("生态", "环境保护", "环保", "污染", "河长", "绿色发展"),
    "卫生健康": ("医疗", "卫生", "健康", "疫情", "医院"),
    "政府工作": ("政府工作报告", "政府工作"),
}


def merge_rules(custom: Mapping[str, Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    """Admin rules first (they win ties), then the defaults they do not replace."""
    merged: dict[str, tuple[str, ...]] = {}
    for category, words in (custom or {}).items():
        merged[category] = tuple(normalize(word) for word in words)
    for category, words in DEFAULT_CATEGORY_RULES.items():
        merged.setdefault(category, words)
    return merged


def categorize(title: str, body: str, rules: Mapping[str, tuple[str, ...]]) -> str:
    """The category whose words weigh most: a word in the title counts as ten in the body."""
    title, body = normalize(title), normalize(body)
    best, best_score = DEFAULT_CATEGORY, 0
    for category, words in rules.items():
        score = sum(10 * title.count(word) + min(body.count(word), 10) for word in words)
        if score > best_score:
            best, best_score = category, score
    return best if best_score >= 3 else DEFAULT_CATEGORY


# Characters that rarely belong to a topical keyword, and words too common in
# official writing to tell one speech from another.
_STOP_CHARS = set("的了和是在我们你他她它这那有为对把与也就都而及等其之以于上中下个不到说将一要着被从让给很更最还又并或由向能会可所已此该些各每")
_STOP_WORDS = {
    "工作", "同志", "进一步", "加强", "推进", "推动", "坚持", "提高", "全面", "实现", "建设",
    "发展", "重要", "问题", "方面", "开展", "切实", "积极", "认真", "深入", "不断", "努力",
    "今年", "当前", "全市", "全县", "全区", "全省", "各级", "广大", "同志们", "会议", "目前", "同时", "通过", "今天", "大家", "以来", "一是", "二是", "三是", "四是", "五是",
}


def _is_fragment(gram: str, counts: Counter[str], neighbours: dict[str, set[str]]) -> bool:
    """True when one neighbouring character accompanies most occurrences of ``gram``.

    A real word is preceded and followed by varied characters; 市工会工 is
    almost always inside 全市工会工作, so it is a fragment, not a keyword.
    """
    count = counts[gram]
    return any(
        counts[extended] >= 0.7 * count
        for extended in (char + gram for char in neighbours.get(gram[0], ()))
    ) or any(counts[gram + char] >= 0.7 * count for char in neighbours.get(gram[-1], ()))


def extract_keywords(title: str, body: str, limit: int = 5) -> tuple[str, ...]:
    """The most frequent 2-4 character words, preferring longer ones and words of the title."""
    counts: Counter[str] = Counter()
    runs = [run for run in word_runs(normalize(body)) if not run.isascii()]
    for run in runs:
        for size in (2, 3, 4, 5):
            counts.update(run[i : i + size] for i in range(len(run) - size + 1))
    # Which characters follow / precede each character, to test fragments cheaply.
    neighbours: dict[str, set[str]] = {}
    for gram in counts:
        if len(gram) == 2:
            neighbours.setdefault(gram[0], set()).add(gram[1])
            neighbours.setdefault(gram[1], set()).add(gram[0])
    title_text = normalize(title)
    scored = []
    for gram, count in counts.items():
        if len(gram) > 4 or count < 2 or gram in _STOP_WORDS:
            continue
        if gram[0] in _STOP_CHARS or gram[-1] in _STOP_CHARS or re.search(r"[\d×xX]", gram):
            continue
        if _is_fragment(gram, counts, neighbours):
            continue
        scored.append((count * (1 + 0.5 * (len(gram) - 2)) * (2 if gram in title_text else 1), gram))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[str] = []
    for _, gram in scored:
        if any(gram in kept or kept in gram for kept in chosen):
            continue
        chosen.append(gram)
        if len(chosen) == limit:
            break
    return tuple(chosen)
