"""Documents written for the tests, in the shape the business distributes them."""

import io

HEADER = """仅供学习 禁止外传
酷乐文行
自建平台、实时分享
根据实际需求和形式任务不断迭代
现在订阅立享前3年的所有权益和资料

【打击倒卖活动】
举报倒卖会员资料的人，举报成功免费赠送一年会员材料！
会员群：                      免费QQ群：



"""

FOOTER = "\n酷乐文行整理，咨询QQ10000\n"


def distributed(title: str, body: str) -> str:
    """A document as the shop shares it: advertising header, title, QQ line, body, QQ footer."""
    return f"{HEADER}{title}\n\n酷乐文行整理，咨询QQ10000\n{body}\n{FOOTER}"


UNION_TITLE = "在区总工会全委会议上的讲话"
UNION_BODY = """同志们：
今天召开区总工会全委会议，主要任务是总结上一年度工会工作，安排部署新一年的重点任务。
一年来，各级工会组织围绕中心、服务大局，在维权帮扶、劳动竞赛、职工文化等方面做了大量工作。
新的一年，要把维护职工合法权益作为工会工作的出发点和落脚点，健全困难职工帮扶机制。
要深化产业工人队伍建设改革，持续开展劳动竞赛和技能比武，让更多职工成长为技术能手。"""

RURAL_TITLE = "在全镇乡村振兴工作会议上的讲话"
RURAL_BODY = """同志们：
这次会议的任务是部署全镇乡村振兴重点工作。过去一年，全镇粮食生产稳定，农民收入持续增长。
今年要抓好产业发展，壮大村集体经济，因地制宜发展特色种植和乡村旅游。
要改善农村人居环境，推进厕所革命和生活垃圾分类，建设宜居宜业和美乡村。
各村要压实责任，确保各项任务落到实处，以优异成绩推动乡村振兴取得新成效。"""

SAFETY_TITLE = "全县安全生产大检查动员讲话"
SAFETY_BODY = """同志们：
安全生产事关人民群众生命财产安全，事关经济社会发展大局，必须时刻绷紧这根弦。
这次大检查要覆盖矿山、危险化学品、建筑施工、道路交通等重点行业领域，不留死角。
对检查发现的隐患要建立台账，明确整改责任人和整改时限，做到闭环管理。
对工会组织参与安全监督要给予支持，发挥职工群众的监督作用。"""


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1, the first the catalog) with a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()
