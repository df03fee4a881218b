"""Every user-facing string of the bot and the command line, in one place.

Functions take core objects and return plain text; the front ends send it
as a text segment, so nothing here ever becomes a QQ code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from .errors import (
    BadDuration,
    BadEdit,
    DownloadFailed,
    SubscriptionRefused,
    BadQQ,
    CodeRefused,
    DocumentNotFound,
    EmptyQuery,
    NotAMember,
    PermissionDenied,
    QueryTooLong,
    QuotaExhausted,
    ReportNotOpen,
    ReportRefused,
    TooManyAttempts,
    TooManyCodes,
    UnreadableFile,
    WenkuError,
)
from .search import ResultPage
from .store import StoredDocument

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# -- small pieces -------------------------------------------------------------


def local_date(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d")


def length(chars: int) -> str:
    return f"{chars}字"


def document_line(document: StoredDocument) -> str:
    return f"#{document.id} {document.title}\n   {document.category} · {local_date(document.imported_at)} · {length(document.chars)}"


# -- search ---------------------------------------------------------------------

PAGING_HINT = "发送「下一页」「上一页」翻页，「摘要 编号」看预览，会员发送「全文 编号」获取全文。"


def subscribe_call(contact: str) -> str:
    return f"开通会员看全文：{contact}"


def search_results(page: ResultPage, *, free_group: bool, contact: str) -> str:
    ranking = page.ranking
    words = " ".join(ranking.terms)
    total = f"{ranking.total}+" if ranking.capped else str(ranking.total)
    lines = [f"「{words}」共找到 {total} 篇，第 {page.page}/{page.pages} 页："]
    for number, hit in enumerate(page.hits, start=(page.page - 1) * 5 + 1):
        lines.append(f"{number}. {document_line(hit.document)}\n   {hit.snippet}")
    lines.append(PAGING_HINT)
    if free_group:
        lines.append(subscribe_call(contact))
    return "\n".join(lines)


def no_results(
    terms: Sequence[str],
    similar_titles: Sequence[tuple[int, str]],
    per_term: dict[str, int],
    categories: Sequence[tuple[str, int]],
) -> str:
    words = " ".join(terms)
    lines = [f"没有找到同时包含「{words}」的文档。" if len(terms) > 1 else f"没有找到包含「{words}」的文档。"]
    found_alone = [f"「{term}」{count} 篇" for term, count in per_term.items() if count]
    if found_alone:
        lines.append("单独搜索时：" + "，".join(found_alone) + "，可以少用一个词再试。")
    if similar_titles:
        lines.append("相近的标题：")
        lines.extend(f"#{document_id} {title}" for document_id, title in similar_titles)
    if categories:
        lines.append("可以按分类浏览：" + "、".join(name for name, _ in categories[:8]) + "（发送「分类 名称」）")
    return "\n".join(lines)


def empty_query() -> str:
    return "请在「搜索」后面写上关键词，例如：搜索 工会 维权"


def query_too_long(limit: int) -> str:
    return f"关键词太长了，每个词请不超过 {limit} 个字，多个词用空格隔开。"


def no_search_to_page() -> str:
    return "没有可以翻页的搜索（搜索结果保留10分钟），请先发送「搜索 关键词」。"


def no_more_pages(forward: bool) -> str:
    return "已经是最后一页了。" if forward else "已经是第一页了。"


# -- documents --------------------------------------------------------------------


def needs_number(command: str) -> str:
    return f"请在「{command}」后面写文档编号，例如：{command} 12"


def document_not_found(document_id: int | str) -> str:
    return f"没有编号为 {document_id} 的文档，编号见搜索结果中的 # 后面的数字。"


def preview(document: StoredDocument, *, opening: int = 300, free_group: bool, contact: str) -> str:
    text = document.body.replace("\n", " ")
    shown = text[:opening] + ("…" if len(text) > opening else "")
    lines = [
        f"#{document.id} {document.title}",
        f"分类：{document.category}　日期：{local_date(document.imported_at)}　{length(document.chars)}",
        f"关键词：{'、'.join(document.keywords) or '无'}",
        "",
        shown,
        "",
        f"会员发送「全文 {document.id}」获取全文。",
    ]
    if free_group:
        lines.append(subscribe_call(contact))
    return "\n".join(lines)


def latest(documents: Sequence[StoredDocument]) -> str:
    if not documents:
        return "文库里还没有文档。"
    lines = [f"最新的 {len(documents)} 篇："]
    lines.extend(f"{index}. {document_line(document)}" for index, document in enumerate(documents, 1))
    lines.append("发送「摘要 编号」看预览。")
    return "\n".join(lines)


def categories(counts: Sequence[tuple[str, int]]) -> str:
    if not counts:
        return "文库里还没有文档。"
    lines = ["文库分类："]
    lines.extend(f"{name}（{count}篇）" for name, count in counts)
    lines.append("发送「分类 名称」看该分类最新的文档。")
    return "\n".join(lines)


def category_documents(name: str, documents: Sequence[StoredDocument]) -> str:
    lines = [f"「{name}」最新的 {len(documents)} 篇："]
    lines.extend(f"{index}. {document_line(document)}" for index, document in enumerate(documents, 1))
    lines.append("发送「摘要 编号」看预览。")
    return "\n".join(lines)


def unknown_category(name: str, counts: Sequence[tuple[str, int]]) -> str:
    known = "、".join(category for category, _ in counts) or "暂无"
    return f"没有「{name}」这个分类。现有分类：{known}"


def bad_count(limit: int) -> str:
    return f"数量请写 1 到 {limit} 之间的数字，例如：最新 10"


# -- help -------------------------------------------------------------------------

#: (command, what it does, lowest role that may use it). Roles: visitor < member < admin.
COMMANDS: list[tuple[str, str, str]] = [
    ("搜索 词 [词…]", "按关键词找文档，多个词表示同时包含（也可用：搜、找）", "visitor"),
    ("下一页 / 上一页", "翻看刚才的搜索结果", "visitor"),
    ("摘要 编号", "看文档的标题、分类、关键词和开头（也可用：预览）", "visitor"),
    ("最新 [数量]", "最新入库的文档，默认5篇，最多20篇", "visitor"),
    ("分类 [名称]", "各分类的文档数；带名称时看该分类最新文档", "visitor"),
    ("会员", "查看自己的会员状态和今日剩余全文次数", "visitor"),
    ("兑换 卡密", "用卡密开通或续期会员", "visitor"),
    ("帮助", "显示本说明", "visitor"),
    ("全文 编号 [文本|文件]", "私信获取全文（文件为 Word 文档）", "member"),
    ("开通 QQ 时长 / 续费 QQ 时长", "开通或续期会员，时长如 7天、1月、1年、永久", "admin"),
    ("取消会员 QQ / 查会员 QQ", "取消会员；查看会员状态和记录", "admin"),
    ("会员列表 [到期]", "有效会员，或7天内到期的会员", "admin"),
    ("生成卡密 数量 时长", "生成卡密（私信发给你）", "admin"),
    ("卡密列表 / 作废卡密 卡密", "查看或作废卡密", "admin"),
    ("溯源 文字", "查出一段外传文字发给了哪位会员（也可回复那条消息）", "admin"),
]

_ROLE_ORDER = {"blacklisted": -1, "visitor": 0, "member": 1, "admin": 2}


def help_text(role: str) -> str:
    if role == "blacklisted":
        return "你已被停止使用本机器人。如有疑问请联系管理员。"
    level = _ROLE_ORDER.get(role, 0)
    lines = ["文库机器人可用命令（命令前可加 /）："]
    lines.extend(
        f"· {command}：{meaning}" for command, meaning, needed in COMMANDS if _ROLE_ORDER[needed] <= level
    )
    return "\n".join(lines)


# -- errors -------------------------------------------------------------------------


def error(problem: WenkuError) -> str:
    """The reply for a core error; one place decides what each refusal says."""
    if isinstance(problem, EmptyQuery):
        return empty_query()
    if isinstance(problem, QueryTooLong):
        return query_too_long(problem.limit)
    if isinstance(problem, DocumentNotFound):
        return document_not_found(problem.document_id)
    if isinstance(problem, UnreadableFile):
        return f"文件「{problem.name}」无法导入：{problem.reason}"
    if isinstance(problem, PermissionDenied):
        return permission_denied()
    if isinstance(problem, ReportRefused):
        return report_refused(problem.reason)
    if isinstance(problem, ReportNotOpen):
        return report_not_open(problem.report_id, problem.status)
    if isinstance(problem, SubscriptionRefused):
        return subscription_refused(problem.reason)
    if isinstance(problem, BadEdit):
        return bad_edit(problem.reason)
    if isinstance(problem, DownloadFailed):
        return import_failed(problem.name, problem.reason)
    if isinstance(problem, BadDuration):
        return bad_duration(problem.text)
    if isinstance(problem, BadQQ):
        return bad_qq(problem.text)
    if isinstance(problem, NotAMember):
        return not_a_member(problem.user_id)
    if isinstance(problem, CodeRefused):
        return code_refused(problem.reason)
    if isinstance(problem, TooManyAttempts):
        return too_many_attempts(problem.minutes)
    if isinstance(problem, QuotaExhausted):
        return quota_exhausted(problem.limit)
    if isinstance(problem, TooManyCodes):
        return too_many_codes(problem.limit)
    return "操作没有完成，请检查命令格式后再试。"


def internal_error() -> str:
    return "处理时出了点问题，已记录下来，请稍后再试。"


# -- import (chat and command line) ------------------------------------------------


def import_outcome(outcome) -> str:
    if outcome.status == "imported":
        line = f"已导入 #{outcome.document_id} {outcome.title}（{outcome.category}）"
        if outcome.keywords:
            line += f" 关键词：{'、'.join(outcome.keywords)}"
        if outcome.near_duplicates:
            similar = "，".join(
                f"#{near.document_id} {near.title}（相似度{round(near.similarity * 100)}%）"
                for near in outcome.near_duplicates
            )
            line += f"\n  相近文档：{similar}"
        return line
    if outcome.status == "duplicate" and outcome.duplicate_of_deleted:
        return (
            f"跳过 {outcome.name}：与已删除的 #{outcome.document_id} {outcome.title} 完全相同，"
            f"需要时发送「恢复 {outcome.document_id}」恢复"
        )
    if outcome.status == "duplicate":
        return f"跳过 {outcome.name}：与 #{outcome.document_id} {outcome.title} 完全相同"
    return f"失败 {outcome.name}：{outcome.reason}"


def import_summary(outcomes: Sequence) -> str:
    imported = sum(1 for outcome in outcomes if outcome.status == "imported")
    duplicates = sum(1 for outcome in outcomes if outcome.status == "duplicate")
    failed = sum(1 for outcome in outcomes if outcome.status == "failed")
    return f"共 {len(outcomes)} 个文件：导入 {imported}，重复跳过 {duplicates}，失败 {failed}"


# -- operator console -------------------------------------------------------------------


def first_run_instructions(*, env_file: str, host: str, port: str, access_token: str) -> str:
    return "\n".join(
        [
            f"首次启动：已生成配置文件 {env_file}，其中的 ONEBOT_ACCESS_TOKEN 和 ONEBOT_SECRET 是随机生成的。",
            "请在 NapCat 或 Lagrange.OneBot 中添加一个「反向 WebSocket」连接：",
            f"  地址：ws://{host}:{port}/onebot/v11/ws",
            f"  Access Token：{access_token}",
            f"然后在 {env_file} 中填写 SUPERUSERS、WENKU_FREE_GROUPS、WENKU_MEMBER_GROUPS 等设置并重启。",
        ]
    )


def missing_credentials(names: Sequence[str]) -> str:
    return (
        f"拒绝启动：没有设置 {'、'.join(names)}。"
        "没有它们，任何人都能冒充 OneBot 给机器人发事件。请在 .env 中填写（删除 .env 后重新启动会自动生成）。"
    )


def stats(figures) -> str:
    lines = [f"文档：{figures.documents} 篇"]
    if figures.categories:
        lines.append("分类：" + "，".join(f"{name} {count}" for name, count in figures.categories))
    lines.append(f"搜索：今天 {figures.searches_today} 次，近7天 {figures.searches_week} 次")
    if figures.top_terms:
        lines.append("近7天热门搜索词：" + "，".join(f"{term}({count})" for term, count in figures.top_terms))
    if figures.missed_terms:
        lines.append("近7天没搜到的词：" + "，".join(f"{term}({count})" for term, count in figures.missed_terms))
    return "\n".join(lines)


# -- members -----------------------------------------------------------------------------


def local_time(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def until(membership) -> str:
    return "永久" if membership.lifetime else local_time(membership.valid_until)


def bad_duration(text: str) -> str:
    return f"看不懂时长「{text}」。请写成 7天、2周、1月、3月、1年、3年 或 永久。"


def bad_qq(text: str) -> str:
    return f"「{text}」不是有效的QQ号。"


def not_a_member(user_id: str) -> str:
    return f"{user_id} 目前不是会员。"


def membership_changed(action: str, user_id: str, membership) -> str:
    verb = {"grant": "已开通", "extend": "已续费", "cancel": "已取消"}.get(action, "已更新")
    if action == "cancel":
        return f"{verb} {user_id} 的会员。"
    return f"{verb} {user_id} 的会员，有效期至 {until(membership)}。"


def member_status_for_admin(
    user_id: str, membership, role: str, now: datetime, events, quota: int | None, audit: Sequence[dict] = ()
) -> str:
    lines = [f"QQ {user_id}"]
    if role == "blacklisted":
        lines.append("状态：已拉黑")
    if membership is None:
        lines.append("会员：从未开通")
    else:
        state = "有效" if membership.active(now) else "已过期"
        lines.append(f"会员：{state}，开通于 {local_time(membership.started_at)}，有效期至 {until(membership)}（来源：{SOURCE_NAMES.get(membership.source, membership.source)}）")
    if quota is not None:
        lines.append(f"今日剩余全文次数：{quota}")
    if events:
        lines.append("记录：")
        for event in events:
            lines.append(
                f"· {local_time(datetime.fromisoformat(event['at']))} {ACTION_NAMES.get(event['action'], event['action'])}"
                f" {event['duration'] or ''} 操作人 {event['actor'] or '系统'}{'，' + event['note'] if event['note'] else ''}"
            )
    if audit:
        lines.append("举报与封禁：")
        lines.extend(audit_lines(audit))
    return "\n".join(lines)


SOURCE_NAMES = {"admin": "管理员开通", "code": "卡密兑换", "report": "举报奖励"}
ACTION_NAMES = {
    "grant": "开通",
    "extend": "续费",
    "cancel": "取消",
    "redeem": "兑换卡密",
    "reward": "举报奖励",
    "revoke": "封禁收回",
}


def my_membership(membership, now: datetime, quota: int | None, subscriptions: Sequence[str], contact: str) -> str:
    if membership is None or not membership.active(now):
        lines = ["你目前不是会员。" if membership is None else f"你的会员已于 {until(membership)} 到期。"]
        lines.append(subscribe_call(contact))
        lines.append("有卡密可发送「兑换 卡密」开通。")
        return "\n".join(lines)
    lines = [f"你是会员，有效期至 {until(membership)}。"]
    if quota is not None:
        lines.append(f"今日剩余全文次数：{quota}")
    if subscriptions:
        lines.append("订阅的关键词：" + "、".join(subscriptions))
    return "\n".join(lines)


def member_list(rows: Sequence, now: datetime, title: str) -> str:
    if not rows:
        return f"{title}：无"
    lines = [f"{title}（{len(rows)}人）："]
    for membership in rows[:50]:
        lines.append(f"{membership.user_id} 至 {until(membership)}")
    if len(rows) > 50:
        lines.append(f"……另有 {len(rows) - 50} 人，完整名单请用命令行 wenku members")
    return "\n".join(lines)


# -- redeem codes -----------------------------------------------------------------------------


def codes_generated(codes: Sequence[str], duration: str) -> str:
    return f"已生成 {len(codes)} 个{duration}卡密（只显示这一次，请妥善保存）：\n" + "\n".join(codes)


def codes_sent_privately(count: int) -> str:
    return f"已生成 {count} 个卡密，已私信发给你。"


def codes_private_failed() -> str:
    return "卡密已生成但私信发送失败，为安全起见已全部作废。请先加机器人为好友，再重新生成。"


def code_refused(reason: str) -> str:
    return {
        "unknown": "卡密无效，请检查是否输入正确（不区分大小写，横线可省略）。",
        "used": "这个卡密已经被使用过了。",
        "void": "这个卡密已被作废。",
    }.get(reason, "卡密无法使用。")


def too_many_attempts(minutes: int) -> str:
    return f"卡密错误次数过多，请 {minutes} 分钟后再试。"


def redeemed(membership) -> str:
    return f"兑换成功！会员有效期至 {until(membership)}。发送「全文 编号」即可获取全文。"


def needs_code() -> str:
    return "请在「兑换」后面写卡密，例如：兑换 ABCDE-FGHJK-MNPQR-STUVW"


def code_voided(code_id: int) -> str:
    return f"已作废卡密 #{code_id}。"


def code_list(infos: Sequence) -> str:
    if not infos:
        return "还没有生成过卡密。"
    names = {"unused": "未使用", "used": "已使用", "void": "已作废"}
    lines = ["最近的卡密（卡密本身只在生成时显示）："]
    for info in infos:
        used = f" 使用者 {info.used_by}" if info.used_by else ""
        lines.append(f"#{info.id} {info.duration} {names[info.status]} 生成于 {local_date(info.created_at)}{used}")
    return "\n".join(lines)


def generate_usage() -> str:
    return "格式：生成卡密 数量 时长，例如：生成卡密 10 1年"


def void_usage() -> str:
    return "格式：作废卡密 卡密（或卡密列表中的编号）"


def too_many_codes(limit: int) -> str:
    return f"一次最多生成 {limit} 个卡密。"


# -- full texts ---------------------------------------------------------------------------------


def watermark_line(masked_qq: str, delivery_id: int) -> str:
    return f"【会员专享 禁止外传】QQ {masked_qq} · 编号 {delivery_id}"


def fulltext_refused(contact: str) -> str:
    return f"全文仅向会员提供。{subscribe_call(contact)}\n有卡密可发送「兑换 卡密」开通。"


def sent_privately() -> str:
    return "已私信发送"


def private_send_failed() -> str:
    return "私信发送失败，本次不计入次数。请先加机器人为QQ好友（或允许临时会话），再发送一次「全文 编号」。"


def private_send_partial() -> str:
    return "全文只发出了一部分，后面的私信发送失败（本次计入次数）。请稍后再发送一次「全文 编号」，或发送「全文 编号 文件」获取 Word 文件。"


def quota_exhausted(limit: int) -> str:
    return f"今天的 {limit} 次全文已经用完，明天再来吧。"


def fulltext_file_sent(title: str) -> str:
    return f"《{title}》的 Word 文件已发送，请在私聊文件中查收。"


def bad_fulltext_format() -> str:
    return "格式：全文 编号 [文本|文件]，例如：全文 12 文件"


# -- trace ------------------------------------------------------------------------------------------


def trace_result(result, titles: dict[int, str], audit: dict[str, Sequence[dict]] | None = None) -> str:
    text = _trace_findings(result, titles)
    for user, entries in (audit or {}).items():
        if entries:
            text += f"\n{user} 的举报与封禁记录：\n" + "\n".join(audit_lines(entries))
    return text


def _trace_findings(result, titles: dict[int, str]) -> str:
    if result.deliveries:
        lines = ["找到水印，这段文字来自："]
        for row in result.deliveries:
            lines.append(
                f"· 会员 {row['user_id']}，文档 #{row['document_id']} {titles.get(row['document_id'], '')}，"
                f"{local_time(datetime.fromisoformat(row['at']))} 发送（编号 {row['id']}，{'文件' if row['format'] == 'file' else '文本'}）"
            )
        return "\n".join(lines)
    if result.unknown_marks:
        return trace_unknown(result.unknown_marks)
    if result.document is None:
        return "没有找到水印，也没有找到内容相符的文档。"
    lines = [f"没有找到水印（可能被去除）。内容出自 #{result.document.id} {result.document.title}。"]
    if result.recipients:
        lines.append("收到过这篇全文的会员（最近的在前）：")
        for row in result.recipients:
            lines.append(f"· {row['user_id']} {local_time(datetime.fromisoformat(row['at']))}（编号 {row['id']}）")
    else:
        lines.append("还没有会员收到过这篇全文。")
    return "\n".join(lines)


def trace_unknown(delivery_ids: Sequence[int]) -> str:
    numbers = "、".join(str(delivery_id) for delivery_id in delivery_ids)
    return f"水印有效（编号 {numbers}），但数据库里没有这次发送的记录（可能来自已恢复的旧备份之外）。"


def trace_needs_text() -> str:
    return "请在「溯源」后面粘贴文字，或回复要溯源的那条消息并发送「溯源」。"


# -- joins and the daily job ------------------------------------------------------------------------


def join_rejected(contact: str) -> str:
    return f"本群仅限会员加入。{subscribe_call(contact)}"


def join_rejected_blacklisted() -> str:
    return "你已被禁止加入本群。"


def intruder_alert(user_id: int, group_id: int, minutes: int) -> str:
    return f"提醒：{user_id} 进入会员群 {group_id}，但不是有效会员，{minutes} 分钟后如仍未开通将被移出。"


def reminder(kind: str, membership, contact: str) -> str:
    days = {"7d": 7, "1d": 1}.get(kind)
    return f"你的文库会员将于 {until(membership)} 到期（还剩约 {days} 天）。续费：{contact}"


def expired_notice(contact: str) -> str:
    return f"你的文库会员已到期，已移出会员群。续费后重新申请入群即可自动通过。续费：{contact}"


def permission_denied() -> str:
    return "没有权限"


# -- reports, blacklist ---------------------------------------------------------------------------

REPORT_STATUS = {"open": "待处理", "approved": "已通过", "rejected": "已驳回"}
AUDIT_NAMES = {
    "report": "被举报",
    "report_approved": "举报成立",
    "report_rejected": "举报驳回",
    "reward": "举报奖励",
    "ban": "拉黑",
    "unban": "解除拉黑",
}


def report_usage() -> str:
    return "格式：举报 QQ号 说明，可同时附上截图。例如：举报 12345678 在闲鱼倒卖会员资料"


def report_filed(report_id: int) -> str:
    return f"已收到你的举报（编号 #{report_id}），管理员核实后会通知你。举报成功将免费赠送会员。"


def report_refused(reason: str) -> str:
    return {
        "self": "不能举报自己。",
        "admin": "不能举报管理员。",
        "throttled": "举报太频繁了，请一小时后再试。",
    }.get(reason, "举报没有提交成功。")


def evidence_summary(evidence: Sequence) -> str:
    saved = sum(1 for item in evidence if item.path)
    failed = [item.error for item in evidence if item.error]
    text = f"截图 {saved} 张"
    if failed:
        text += f"（{len(failed)} 张未保存：{'、'.join(sorted(set(failed)))}）"
    return text


def report_alert(report_id: int, reporter: str, reported: str, text: str, evidence: Sequence) -> str:
    return (
        f"新举报 #{report_id}：{reporter} 举报 {reported}\n说明：{text or '（无）'}\n{evidence_summary(evidence)}\n"
        f"处理：举报通过 {report_id} / 举报驳回 {report_id} 理由"
    )


def report_list(reports: Sequence[dict], evidence_counts: dict[int, int]) -> str:
    if not reports:
        return "没有待处理的举报。"
    lines = [f"待处理的举报（{len(reports)}）："]
    for report in reports:
        lines.append(
            f"#{report['id']} {local_time(datetime.fromisoformat(report['created_at']))} {report['reporter']} 举报 {report['reported']}："
            f"{(report['text'] or '（无说明）')[:60]}，截图 {evidence_counts.get(report['id'], 0)} 张"
        )
    lines.append("处理：举报通过 编号 / 举报驳回 编号 理由")
    return "\n".join(lines)


def report_not_open(report_id: int, status: str | None) -> str:
    if status is None:
        return f"没有编号为 {report_id} 的举报。"
    return f"举报 #{report_id} 已经处理过了（{REPORT_STATUS.get(status, status)}），不会重复处理。"


def report_approved(report: dict, membership, kicks: Sequence[tuple[int, bool]]) -> str:
    lines = [
        f"举报 #{report['id']} 已通过：{report['reporter']} 获得奖励，会员至 {until(membership)}；"
        f"{report['reported']} 已取消会员并拉黑。"
    ]
    for group_id, ok in kicks:
        lines.append(f"移出会员群 {group_id}：{'成功' if ok else '失败，请手动移出'}")
    return "\n".join(lines)


def reporter_rewarded(report_id: int, membership) -> str:
    return f"你的举报 #{report_id} 已核实，感谢支持打击倒卖！已赠送会员，有效期至 {until(membership)}。"


def report_rejected(report_id: int) -> str:
    return f"已驳回举报 #{report_id}，并已告知举报人。"


def reporter_rejected(report_id: int, reason: str) -> str:
    return f"你的举报 #{report_id} 未通过核实。理由：{reason}"


def reject_usage() -> str:
    return "格式：举报驳回 编号 理由，例如：举报驳回 3 证据不足"


def approve_usage() -> str:
    return "格式：举报通过 编号，例如：举报通过 3"


def blacklist_usage() -> str:
    return "格式：拉黑 QQ 理由，例如：拉黑 12345678 倒卖资料"


def blacklisted(user_id: str, ended, kicks: Sequence[tuple[int, bool]]) -> str:
    lines = [f"已拉黑 {user_id}" + ("，并取消其会员。" if ended else "。")]
    for group_id, ok in kicks:
        lines.append(f"移出会员群 {group_id}：{'成功' if ok else '失败，请手动移出'}")
    return "\n".join(lines)


def cannot_blacklist_admin() -> str:
    return "不能拉黑管理员。"


def unblacklisted(user_id: str, removed: bool) -> str:
    return f"已解除拉黑 {user_id}。" if removed else f"{user_id} 不在黑名单中。"


def audit_lines(entries: Sequence[dict]) -> list[str]:
    lines = []
    for entry in entries:
        report = f" 举报#{entry['report_id']}" if entry["report_id"] else ""
        detail = f"：{entry['detail']}" if entry["detail"] else ""
        lines.append(
            f"· {local_time(datetime.fromisoformat(entry['at']))} {AUDIT_NAMES.get(entry['action'], entry['action'])}"
            f"{report} 操作人 {entry['actor'] or '系统'}{detail}"
        )
    return lines


# -- statistics and backups ------------------------------------------------------------------------


def admin_stats(figures) -> str:
    library = figures.library
    lines = [stats(library)]
    lines.append(f"会员：有效 {figures.members_active} 人，7天内到期 {figures.members_expiring} 人")
    lines.append(f"全文：今天 {figures.fulltexts_today} 次，近7天 {figures.fulltexts_week} 次")
    if figures.top_receivers:
        lines.append("近7天领取全文最多的会员：")
        for user, count, suspicious in figures.top_receivers:
            lines.append(f"· {user} {count} 次" + ("  ⚠ 远超其他会员，疑似倒卖" if suspicious else ""))
    lines.append(f"待处理举报：{figures.open_reports} 个")
    return "\n".join(lines)


def backup_done(path: str, size: int, kept: int) -> str:
    return f"备份完成：{path}（{size / 1024 / 1024:.1f} MB），共保留 {kept} 份。"


# -- real-time sharing ---------------------------------------------------------------------------


def import_usage() -> str:
    return "格式：导入 网址，例如：导入 https://example.com/讲话稿.docx"


def import_failed(name: str, reason: str) -> str:
    return f"文件「{name}」没有导入：{reason}"


def document_deleted(document) -> str:
    return f"已删除 #{document.id} {document.title}（不再出现在搜索和推送中，可发送「恢复 {document.id}」恢复）。"


def document_restored(document) -> str:
    return f"已恢复 #{document.id} {document.title}。"


def document_retitled(document) -> str:
    return f"#{document.id} 的标题已改为：{document.title}"


def document_recategorized(document) -> str:
    return f"#{document.id} {document.title} 的分类已改为：{document.category}"


def edit_usage(command: str) -> str:
    example = {"改标题": "改标题 12 在全市工会工作会议上的讲话", "改分类": "改分类 12 工会"}.get(command, f"{command} 12")
    return f"格式：{example}"


def bad_edit(reason: str) -> str:
    return {"empty": "新的标题或分类不能为空。", "too_long": "新的标题或分类太长了。"}.get(reason, "修改没有完成。")


def teaser(document, length: int) -> str:
    text = document.body.replace("\n", " ")
    return text[:length] + ("…" if len(text) > length else "")


def free_announcement(document, contact: str) -> str:
    return (
        f"【新资料】{document.title}\n分类：{document.category}　{length(document.chars)}\n"
        f"{teaser(document, 60)}\n发送「摘要 {document.id}」看预览。\n{subscribe_call(contact)}"
    )


def member_announcement(document) -> str:
    keywords = "、".join(document.keywords) or "无"
    return (
        f"【新资料】#{document.id} {document.title}\n分类：{document.category}　{length(document.chars)}　关键词：{keywords}\n"
        f"{teaser(document, 150)}\n发送「全文 {document.id}」私信获取全文（「全文 {document.id} 文件」获取 Word）。"
    )


def push_done(document, groups: int) -> str:
    return f"已把 #{document.id} {document.title} 推送到 {groups} 个群（按发送间隔依次发出）。"


def no_groups_to_push() -> str:
    return "还没有配置任何群（WENKU_FREE_GROUPS、WENKU_MEMBER_GROUPS），无处推送。"


def recommendation(document, contact: str) -> str:
    return (
        f"【每日推荐】{document.title}\n分类：{document.category}　{length(document.chars)}\n"
        f"{teaser(document, 80)}\n发送「摘要 {document.id}」看预览，「搜索 关键词」找更多。\n{subscribe_call(contact)}"
    )


def weekly_digest(documents) -> str:
    lines = [f"【本周新资料】共 {len(documents)} 篇："]
    lines.extend(f"#{document.id} {document.title}（{document.category}）" for document in documents)
    lines.append("发送「全文 编号」私信获取全文。")
    return "\n".join(lines)


def subscribed(term: str, new: bool) -> str:
    return f"已订阅「{term}」，有包含它的新文档时会私信通知你。" if new else f"你已经订阅过「{term}」了。"


def unsubscribed(term: str) -> str:
    return f"已退订「{term}」。"


def my_subscriptions(terms: Sequence[str]) -> str:
    if not terms:
        return "你还没有订阅关键词。发送「订阅 词」，有新文档时私信通知你。"
    return "你订阅的关键词：" + "、".join(terms) + "\n发送「退订 词」取消。"


def subscription_refused(reason: str) -> str:
    return {
        "too_many": "订阅的关键词已达上限（20个），请先退订一些。",
        "bad_term": "订阅词请写一个 2 到 20 个字的词，例如：订阅 乡村振兴",
        "unknown": "你没有订阅这个词。发送「我的订阅」查看。",
    }.get(reason, "订阅没有成功。")


def subscriptions_members_only(contact: str) -> str:
    return f"关键词订阅是会员功能。{subscribe_call(contact)}"


def subscription_notice(notice) -> str:
    document = notice.document
    return (
        f"你订阅的「{notice.term}」有新文档：\n#{document.id} {document.title}（{document.category}，{length(document.chars)}）\n"
        f"发送「全文 {document.id}」获取全文。"
    )


# -- argument placeholders and file problems named in replies ----------------------------------------

#: Shown where a command's argument was left out: 「（空）」不是有效的QQ号。
EMPTY_ARGUMENT = "（空）"
UNNAMED_FILE = "未命名"


def members_list_title(expiring: bool) -> str:
    return "7天内到期的会员" if expiring else "有效会员"


def file_too_large(limit_mb: int) -> str:
    return f"文件超过 {limit_mb} MB"


def file_address_unavailable(error: str) -> str:
    return f"取不到文件地址（{error}）"


def file_unavailable(error: str) -> str:
    return f"取不到文件（{error}）"


def file_content_damaged() -> str:
    return "文件内容损坏"


# -- reasons given by the core -------------------------------------------------------------------------
#
# The core puts these in its errors and outcomes (UnreadableFile.reason,
# DownloadFailed.reason, ImportOutcome.reason, Evidence.error); the replies
# above show them as they are, e.g. 「失败 a.pdf：PDF 已加密，无法读取」.
# The modules that build them import this one, so this module must never
# import wenku.readers, wenku.downloads, wenku.importer or wenku.reports.

# Files that cannot be read (wenku.readers); file_too_large above is shared.


def unknown_encoding() -> str:
    return "无法识别文字编码（支持 UTF-8、GBK、GB18030）"


def docx_inflates_too_much() -> str:
    return "文件解压后过大，疑似压缩炸弹"


def docx_too_many_elements() -> str:
    return "文档结构异常（元素数量过多），疑似恶意构造；请转成纯文本后再发"


def not_a_word_document() -> str:
    return "不是有效的 Word 文档"


def not_a_docx_file() -> str:
    return "不是有效的 .docx 文件（文件损坏或格式不符）"


def docx_unparsable(error_name: str) -> str:
    return f"Word 文档无法解析：{error_name}"


def pdf_encrypted() -> str:
    return "PDF 已加密，无法读取"


def pdf_damaged(error_name: str) -> str:
    return f"PDF 文件损坏：{error_name}"


def pdf_without_text() -> str:
    return "PDF 中没有可提取的文字（可能是扫描件）"


def unsupported_file_type(suffixes: Sequence[str]) -> str:
    return f"不支持的文件类型（支持 {'、'.join(suffixes)}）"


def empty_file() -> str:
    return "文件是空的"


def not_text_content() -> str:
    return "文件内容不是文字（可能是二进制文件改了后缀）"


# Downloads (wenku.downloads, and evidence screenshots in wenku.reports).


def not_a_download_address() -> str:
    return "不是可下载的网址"


def download_refused_status(status_code: int) -> str:
    return f"下载失败（HTTP {status_code}）"


def download_failed(error_name: str | None = None) -> str:
    """下载失败, naming the exception's class when there is one."""
    return f"下载失败（{error_name}）" if error_name else "下载失败"


def download_timed_out() -> str:
    return "下载超时"


def evidence_not_web_address() -> str:
    return "不是网络地址"


def evidence_too_large() -> str:
    return "图片过大"


def evidence_not_image() -> str:
    return "不是图片"


def evidence_not_saved(error_name: str) -> str:
    return f"保存失败（{error_name}）"


# Import outcomes (wenku.importer).


def database_full() -> str:
    return "数据库已满（磁盘空间不足），本文件没有导入；清理磁盘后重新导入即可"


def body_too_short() -> str:
    return "正文太短或没有正文"


def same_as_existing(deleted: bool) -> str:
    return "与已删除的文档完全相同" if deleted else "与已有文档完全相同"


def file_not_readable(problem: str) -> str:
    """A file on disk the command line could not open; ``problem`` is the OS's own words."""
    return f"无法读取文件：{problem}"


def import_crashed(error_name: str) -> str:
    return f"内部错误：{error_name}"


def import_took_too_long(seconds: float) -> str:
    return f"处理超过 {seconds:.0f} 秒仍未完成，已停止；文件可能过大或结构异常，请转成纯文本后再发"


def import_needs_too_much_memory() -> str:
    return "处理这个文件需要的内存超过上限，已停止；文件可能结构异常（例如压缩炸弹），请转成纯文本后再发"


def import_worker_died() -> str:
    return "导入进程意外退出，本文件没有导入；可以重新发送"


# -- words the core writes into records and names ------------------------------------------------------
#
# Stored in the database or put on files, then shown by the replies above
# (查会员 lists a membership's notes, 黑名单 the ban reasons).

#: A lifetime membership's end, in member records and replies.
FOREVER = "永久"


def duration_text(period) -> str:
    """A membership length (wenku.durations.Duration): 永久, 1年, 3个月, 7天.

    Redeem codes keep their length in these words and parse_duration reads
    them back, so each must stay something parse_duration accepts.
    """
    if period.lifetime:
        return FOREVER
    if period.months and period.months % 12 == 0:
        return f"{period.months // 12}年"
    if period.months:
        return f"{period.months}个月"
    return f"{period.days}天"


def code_note(code_id: int) -> str:
    """The note on a membership opened with a redeem code."""
    return f"卡密#{code_id}"


def report_note(report_id: int) -> str:
    """The note on a reporter's reward."""
    return f"举报#{report_id}"


def resale_ban_reason(report_id: int) -> str:
    """The blacklist reason of a reseller an approved report caught."""
    return f"{report_note(report_id)}：倒卖会员资料"


#: A document's title when neither its first line, its file name nor its opening gives one.
UNTITLED = "无标题"
#: A full text's .docx file name when nothing of the title is left after dropping unsafe characters.
DOCUMENT_FILE_STEM = "文档"
#: The sender's name on the nodes of a merged-forward message.
FORWARD_NICKNAME = "文库"
#: WENKU_CONTACT's default: how to become a member, appended to teasers and refusals.
DEFAULT_CONTACT = "请联系管理员开通会员"


def marked_hit(words: str) -> str:
    """Searched words as a snippet shows them."""
    return f"【{words}】"


# -- command line (wenku members, wenku import) ----------------------------------------------------------

IMPORT_PROGRESS_LABEL = "导入"


def member_state(active: bool) -> str:
    return "有效" if active else "过期"


def people_count(count: int) -> str:
    return f"共 {count} 人"


# -- web console ---------------------------------------------------------------------------
# Page labels live in the console's templates; the messages its code produces live here.

CONSOLE_ACTOR = "网页后台"
DELIVERY_STATUS = {"sent": "已发送", "partial": "部分发送", "failed": "发送失败", "pending": "发送中"}
DELIVERY_FORMAT = {"text": "文本", "file": "文件"}
#: The dashboard's daily charts, in the order shown.
CHART_TITLES = {"searches": "每日搜索", "fulltexts": "每日全文", "members": "每日新会员"}


def console_disabled() -> str:
    return "WENKU_ADMIN_PASSWORD 未设置：网页后台未开启（设置后重启即可在 /admin 登录）"


def console_enabled(address: str) -> str:
    return f"网页后台已开启：{address}"


def console_password_hash(hashed: str) -> str:
    return f"把下面这一行写进 .env（只存散列，不存明文）：\nWENKU_ADMIN_PASSWORD={hashed}"


def console_password_refused(minimum: int) -> str:
    return f"WENKU_ADMIN_PASSWORD 太短（至少 {minimum} 个字符），网页后台未开启；可用 `uv run wenku password` 生成散列"


def console_password_too_short(minimum: int) -> str:
    return f"密码太短：至少 {minimum} 个字符"


def console_login_failed() -> str:
    return "密码不对"


def console_login_locked(minutes: int) -> str:
    return f"失败次数过多，请 {minutes} 分钟后再试"


def console_login_expired() -> str:
    return "登录页已过期，请重新输入密码"


def console_csrf_refused() -> str:
    return "表单已过期或来源不明，操作没有执行。请刷新页面后重试。"


def console_needs_login() -> str:
    return "请先登录"


def console_bad_request() -> str:
    return "请求的参数不对，操作没有执行"


def console_not_found() -> str:
    return "找不到这个页面或记录"


def console_upload_too_large(limit_mb: int) -> str:
    return f"上传内容太大：单个文件不超过 {limit_mb} MB"


def console_upload_needs_length() -> str:
    return "请求缺少长度信息，操作没有执行；请用浏览器里的表单提交"


def console_request_too_large() -> str:
    return "提交的内容太大，操作没有执行"


def console_no_files() -> str:
    return "没有选择文件"


def console_too_many_files(limit: int) -> str:
    return f"一次最多上传 {limit} 个文件"


def console_unsupported_file(name: str, suffixes: str) -> str:
    return f"失败 {name}：不支持的文件类型（支持 {suffixes}）"


def console_saved() -> str:
    return "已保存"


def console_document_deleted(document_id: int) -> str:
    return f"已删除 #{document_id}（可恢复）"


def console_document_restored(document_id: int) -> str:
    return f"已恢复 #{document_id}"


def console_no_bot() -> str:
    return "QQ 账号未连接：数据库已更新，但群内移出和私聊通知没有执行，请连接后在群里手动处理"


def console_reporter_told(delivered: bool) -> str:
    return "已私信通知举报人" if delivered else "私信通知举报人失败（对方可能未加好友）"


def console_report_rejected(report_id: int, told: bool) -> str:
    if told:
        return report_rejected(report_id)
    return f"已驳回举报 #{report_id}，但私信通知举报人没有成功（QQ 未连接或对方未加好友）。"


def console_trace_empty() -> str:
    return "请粘贴要溯源的文字"
