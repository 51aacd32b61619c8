"""Findings in the reader's language: a finding stores its message as a msgid with params (compliance.rules.MESSAGES)
and is rendered per request here, numbers in the locale's format and choice values by their labels.

Rows stored before msgids were (English text only) are read back against the same msgids, so they render too;
the English rendering is kept on the row (``Finding.message``) for the audit trail and stable text.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from flask_babel import force_locale, format_decimal, format_number, format_percent
from flask_babel import gettext as _

from compliance.models import Finding
from compliance.rules import MESSAGES
from i18n import N_, decimal
from inventory.choices import LABELS, label_of

# Decimals shown of a measured value; limits and counts show as many as they have.
_PLACES = {"area": 2, "distance": 1}
_CHOICES = ("type", "storage", "mechanism", "kind")  # inventory choice values, shown by their labels
_NUMBERS = ("area", "distance", "limit", "bare", "entrances", "days", "enrolled", "threshold", "share")
# Purposes a rule allows (rules.json allowed_purposes), as read in a sentence.
_PURPOSES = {"public_security": N_("public security")}
# English of the messages as stored before they had msgids, where it differs from the msgid.
_LEGACY = {"consent": "face recognition at %(terminal)s relies on %(mechanism)s consent, not an explicit separate "
                      "opt-in"}
# Why a finding was fixed, as findings.service and plans.service write it (English) and as it is shown.
REASONS = (N_("audit event %(event)s"), N_("re-evaluation"), N_("initial evaluation"),
           N_("plan %(plan)s approved (version %(version)s)"), N_("plan %(plan)s approved"),
           N_("plan %(plan)s: %(kind)s %(label)s done"))
# What an inspection's verification found (planner.verify, in English), as shown in its report.
ISSUES = (N_("camera %(camera)s is mounted inside private zone '%(zone)s'"),
          N_("camera %(camera)s sees %(area)s m² of private zone '%(zone)s'"),
          N_("%(area)s m² of required area is covered by fewer than k cameras"))
_SEVERITIES = {"prohibited": N_("Prohibited"), "must": N_("Must"), "should": N_("Should")}
_STATUSES = {"open": N_("Open"), "fixed": N_("Fixed"), "accepted": N_("Accepted")}


def _or(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return _("%(first)s or %(last)s", first=_(", ").join(parts[:-1]), last=parts[-1])


def _value(name: str, value: Any) -> str:
    """One param as the sentence shows it in the request's language."""
    if name in _CHOICES:
        return label_of(str(value))
    if name == "allowed":
        return _or([_(_PURPOSES[v]) if v in _PURPOSES else str(v).replace("_", " ") for v in value])
    if name == "share":
        return format_percent(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return format_number(value)
    return decimal(value, _PLACES[name]) if name in _PLACES else format_decimal(value)


def render(msgid: str, params: dict[str, Any]) -> str:
    """A stored msgid with its params in the request's language (the English msgid when it has no translation)."""
    values = {name: _value(name, value) for name, value in (params or {}).items()}
    try:
        return _(msgid, **values)
    except (KeyError, ValueError, TypeError):  # params that no longer fit the msgid: show it with what there is
        return msgid


def english(msgid: str, params: dict[str, Any]) -> str:
    """The message in English, as the finding row keeps it for the audit trail."""
    with force_locale("en"):
        return render(msgid, params)


def _group(name: str) -> str:
    if name == "deadline":
        return r"\d{4}-\d{2}-\d{2}"
    return r"[\d.,]+%?" if name in _NUMBERS else ".+?"


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A regex reading a message back into params: each %(name)s a named group, 'quoted' in either quote."""
    out = ""
    for piece in re.split(r"('?%\(\w+\)s'?)", template):
        name = re.fullmatch(r"'?%\((\w+)\)s'?", piece)
        if name is None:
            out += re.escape(piece)
        elif piece.startswith("'"):
            out += f"['\"](?P<{name[1]}>{_group(name[1])})['\"]"
        else:
            out += f"(?P<{name[1]}>{_group(name[1])})"
    return re.compile(out)


_ENGLISH_LABELS = {**{str(label).casefold(): value for value, label in LABELS.items()},
                   **{label.casefold(): value for value, label in _PURPOSES.items()}}


def _read(name: str, text: str) -> Any:
    """A param back from its English text (the inverse of _value for English)."""
    if name in _NUMBERS:
        share = text.endswith("%")
        number = float(text.rstrip("%").replace(",", ""))
        return round(number / 100, 4) if share else (int(number) if number.is_integer() else number)
    if name in _CHOICES:
        return _ENGLISH_LABELS.get(text.casefold(), text.replace(" ", "_"))
    if name == "allowed":
        return [_ENGLISH_LABELS.get(p.casefold(), p.replace(" ", "_")) for p in re.split(r", | or ", text)]
    return text


def parse(message: str, msgids: tuple[str, ...] | None = None) -> tuple[str, dict[str, Any]] | None:
    """(msgid, params) of an English message of one of the msgids (the finding messages by default), or None."""
    if msgids is None:
        templates = [(msgid, msgid) for msgid in MESSAGES.values()] + \
            [(MESSAGES[key], old) for key, old in _LEGACY.items()]
    else:
        templates = [(msgid, msgid) for msgid in msgids]
    for msgid, template in templates:
        match = _pattern(template).fullmatch(message or "")
        if match:
            return msgid, {name: _read(name, text) for name, text in match.groupdict().items()}
    return None


def stored(finding: Finding) -> tuple[str, dict[str, Any]] | None:
    """The finding's msgid and params: as stored, else read back from its English message (rows stored before)."""
    detail = finding.detail or {}
    if isinstance(detail.get("msgid"), str):
        return detail["msgid"], dict(detail.get("params") or {})
    return parse(finding.message)


def message(finding: Finding) -> str:
    """The finding's message in the request's language (its stored English when it cannot be read back)."""
    found = stored(finding)
    return render(*found) if found else finding.message


def _reread(text: str | None, msgids: tuple[str, ...]) -> str:
    """English text of one of the msgids in the request's language (text of unknown form as it is)."""
    found = parse(text or "", msgids)
    return render(*found) if found else text or ""


def reason(text: str | None) -> str:
    """Why a finding was fixed, in the request's language."""
    return _reread(text, REASONS)


def issue(text: str | None) -> str:
    """One issue an inspection's verification found, in the request's language."""
    return _reread(text, ISSUES)


def severity(value: str) -> str:
    """A severity (prohibited, must, should) as shown."""
    return _(_SEVERITIES[value]) if value in _SEVERITIES else value


def status(value: str) -> str:
    """A finding status (open, fixed, accepted) as shown."""
    return _(_STATUSES[value]) if value in _STATUSES else value
