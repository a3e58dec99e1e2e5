"""Clean noisy web text before chunking: site boilerplate out, the document's own text kept.

Document-sharing sites wrap what they host in download notices, VIP offers, copyright
disclaimers and page counters, and their OCR breaks Chinese text with stray spaces and
pinyin annotations. These rules remove that wrapping; they never rewrite the text itself.
"""

from __future__ import annotations

import re

from assistant.text import fold

# A line is boilerplate when it talks about the hosting site rather than the subject.
# Patterns are matched against the folded (simplified, lower-case) line, so one spelling
# covers Traditional and Simplified pages alike.
_BOILERPLATE = re.compile(
    r"(本站|本文档共|下载|vip|会员|版权|侵权|举报|付费|免费阅读|已阅读|文档评论|提交评论|相关文档"
    r"|最新文档|当前位置|文档库|文档简介|温馨提示|欢迎共阅|权益所有人|文档贡献者|实名认证|\+ ?关注"
    r"|book118|wendangku|原创力|用户上传|网友上传|查看更多|二次下载|质量审核)"
)
_PAGE_MARKER = re.compile(r"^(page\s*\d*|\d+\s*-?|-\s*\d+\s*-|.{0,40}_第\s*\d+\s*页)$")
_COMMENT_COUNTER = re.compile(r"^(评论|\d+/\d+)$")
# OCR of converted pages annotates characters with pinyin: 營(yíng)銷 -> 營銷.
_PINYIN_NOTE = re.compile(r"(?<=[\u4e00-\u9fff])\([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
# OCR of multi-column pages puts spaces between Chinese characters.
_CJK_GAP = re.compile(
    r"(?<=[\u4e00-\u9fff，。、；：！？）])[ \t\u3000]+(?=[\u4e00-\u9fff，。、；：！？（])"
)
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d+\.)\s*")


def is_boilerplate(line: str) -> bool:
    stripped = fold(_PINYIN_NOTE.sub("", _LIST_BULLET.sub("", line))).strip()
    if not stripped:
        return False
    if _PAGE_MARKER.match(stripped) or _COMMENT_COUNTER.match(stripped):
        return True
    # Long paragraphs that merely mention a keyword are content; short notices are not.
    return bool(_BOILERPLATE.search(stripped)) and len(stripped) < 200


def clean_web_text(text: str) -> str:
    """Strip hosting-site boilerplate and OCR artefacts; collapse the blank lines left behind."""
    kept: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if is_boilerplate(raw):
            continue
        line = _PINYIN_NOTE.sub("", raw)
        line = _CJK_GAP.sub("", line).rstrip()
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip()
