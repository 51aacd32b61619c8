"""Rules under their official names: Chinese titles in 《》 with article numbers (第十三条) beside the English ones.

The rules file (data/rules.json) carries each source's Chinese title ("zh"), English title ("en"), the article in
English ("Art 13", "Arts 6-7 (numbers unverified)") and, where the article is not a plain number, its Chinese
wording ("article_zh"); "zh_note" adds the instrument number (国务院令第799号). Statements have "statement_zh", and
rules left out say why in Chinese too ("why_not_zh").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from compliance.rules import RULES_FILE, Rule

_DIGITS = "零一二三四五六七八九"
_ARTICLES = re.compile(r"Arts? (\d+)(?:\s*(?:-|–|to)\s*(\d+)|\s+and\s+(\d+))?(?: \((.+)\))?")
_NOTES = {"number unverified": "条款号待核实", "numbers unverified": "条款号待核实"}


def chinese_number(n: int) -> str:
    """An article number in Chinese numerals as laws write them: 13 -> 十三, 26 -> 二十六, 105 -> 一百零五."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _DIGITS[n // 10] + "十" + (_DIGITS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if rest == 0 else ("零" + _DIGITS[rest] if rest < 10 else
                                     ("一" + chinese_number(rest) if rest < 20 else chinese_number(rest)))
        return _DIGITS[n // 100] + "百" + tail
    return str(n)


def article_zh(source: Mapping[str, str]) -> str:
    """The article of a source in Chinese: 第十三条, 第六条至第七条（条款号待核实）, or the file's article_zh."""
    if source.get("article_zh"):
        return source["article_zh"]
    match = _ARTICLES.fullmatch(source.get("article", "").strip())
    if not match:
        return source.get("article", "")
    first, through, also, note = match.groups()
    text = f"第{chinese_number(int(first))}条"
    if through:
        text += f"至第{chinese_number(int(through))}条"
    elif also:
        text += f"、第{chinese_number(int(also))}条"
    if note:
        text += f"（{_NOTES.get(note, note)}）"
    return text


def title_zh(source: Mapping[str, str]) -> str:
    """The official Chinese title: 《人脸识别技术应用安全管理办法》; standards as GB/T 41819-2022《…》."""
    title = source["zh"].strip()
    tail = ""
    found = re.fullmatch(r"(.+?)\s*[(（](.+)[)）]", title)
    if found:
        title, tail = found.groups()
    if tail.startswith(("GB", "DB")):
        return f"{tail}《{title}》"
    cited = f"《{title}》" + (f"（{tail}）" if tail else "")
    return cited + (f"（{source['zh_note']}）" if source.get("zh_note") else "")


def cite_zh(source: Mapping[str, str]) -> str:
    """A source as Chinese readers cite it: 《人脸识别技术应用安全管理办法》第十三条."""
    article = article_zh(source)
    # A numbered article follows the title directly; a described provision is set off by a space.
    return title_zh(source) + (article if article.startswith("第") else " " + article)


def cite(source: Mapping[str, str], language: str) -> str:
    """A source for a reader: the Chinese citation in zh_CN; in English the English one with the Chinese beside it."""
    if language.startswith("zh"):
        return cite_zh(source)
    english = f"{source['en']} {source['article']}".strip()
    return f"{english} ({cite_zh(source)})"


def rule_sources(rule: Rule, language: str) -> str:
    """Every source of a rule, cited for the reader's language, in one line."""
    return ("；" if language.startswith("zh") else "; ").join(cite(s, language) for s in rule.sources)


@cache
def _chinese(key: str) -> dict[str, str]:
    """Per rule id, the Chinese of one text field (key_zh in the rules file)."""
    data: dict[str, Any] = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    return {r["id"]: r[f"{key}_zh"] for r in data.get("rules", []) if r.get(f"{key}_zh")}


def rule_statement(rule: Rule, language: str) -> str:
    """A rule's statement in the reader's language (the English one where no Chinese is given)."""
    if language.startswith("zh"):
        return _chinese("statement").get(rule.id, rule.statement)
    return rule.statement


def rule_why_not(rule: Rule, language: str) -> str:
    """Why a rule is left out, in the reader's language (the English where no Chinese is given)."""
    if language.startswith("zh"):
        return _chinese("why_not").get(rule.id, rule.why_not or "")
    return rule.why_not or ""
