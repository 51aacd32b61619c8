"""Compliance rules as data (data/rules.json): a validated loader and an evaluator over a planner floor.

The evaluator takes plain data: a ``planner.floor.Floor`` and, per terminal id, a mapping of inventory attributes
(purpose, storage_location, retention_days, signage_posted, ...). Attributes missing from that mapping fall back to
the terminal's ``extra`` properties. Geometric checks use the one coverage engine (``planner.coverage.Engine``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import shapely

from compliance import vocabulary
from planner.coverage import COVERING_TYPES, INSIDE_TOL_M, PRIVACY_TOLERANCE_M2, CameraPose, engine_for
from planner.floor import Floor, Terminal, Zone

RULES_FILE = Path(__file__).with_name("data") / "rules.json"
SEVERITIES = ("prohibited", "must", "should")
KINDS = ("geometric", "attribute", "count")
PROFILES = ("CN", "EU", "UK")
DEFAULT_PROFILE = "CN"
REQUIRED_KEYS = ("id", "statement", "source", "severity", "kind", "fields", "profiles", "implemented")
IMAGE_TYPES = COVERING_TYPES  # cameras and face terminals collect images; readers do not


class RuleError(ValueError):
    """A rules file that cannot be used; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    """One compliance rule as loaded from the data file."""

    id: str
    statement: str
    sources: tuple[dict[str, str], ...]
    severity: str
    kind: str
    fields: tuple[str, ...]
    profiles: tuple[str, ...]
    implemented: bool
    check: str | None = None
    why_not: str | None = None
    params: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def source(self) -> str:
        """The sources as one line: "English title Art N (中文标题); ..."."""
        return "; ".join(f"{s['en']} {s['article']} ({s['zh']})" for s in self.sources)


@dataclass(frozen=True)
class Finding:
    """One rule broken by one terminal (and, for geometric rules, one zone)."""

    rule: str
    source: str
    severity: str
    terminal: str | None
    zone: str | None
    message: str
    area_m2: float | None = None


@dataclass
class Evaluation:
    """Findings of a floor, plus the (rule, terminal, field) triples that could not be judged for want of data."""

    findings: list[Finding] = field(default_factory=list)
    missing: list[tuple[str, str, str]] = field(default_factory=list)

    def of(self, rule_id: str) -> list[Finding]:
        """The findings of one rule."""
        return [f for f in self.findings if f.rule == rule_id]


def _need(raw: dict, key: str, rid: str, kind: type | tuple[type, ...]) -> Any:
    if key not in raw:
        raise RuleError(f"rule {rid}: missing field {key!r}")
    value = raw[key]
    if not isinstance(value, kind) or (isinstance(value, (str, list)) and not value and key != "fields"):
        raise RuleError(f"rule {rid}: field {key!r} must be a non-empty {getattr(kind, '__name__', kind)}; got {value!r}")
    return value


def parse_rules(data: Mapping[str, Any]) -> tuple[Rule, ...]:
    """Validated rules from a parsed rules document; the first problem raises RuleError naming the rule id."""
    raws = data.get("rules") if isinstance(data, Mapping) else None
    if not isinstance(raws, list):
        raise RuleError("rules file: top-level 'rules' must be a list")
    out: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        rid = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(rid, str) or not rid:
            raise RuleError(f"rules file: rule #{index + 1} has no id")
        if rid in seen:
            raise RuleError(f"rule {rid}: duplicate id")
        seen.add(rid)
        for key in REQUIRED_KEYS:
            if key not in raw:
                raise RuleError(f"rule {rid}: missing field {key!r}")
        severity, kind = _need(raw, "severity", rid, str), _need(raw, "kind", rid, str)
        if severity not in SEVERITIES:
            raise RuleError(f"rule {rid}: unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")
        if kind not in KINDS:
            raise RuleError(f"rule {rid}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        profiles = _need(raw, "profiles", rid, list)
        for p in profiles:
            if p not in PROFILES:
                raise RuleError(f"rule {rid}: unknown profile {p!r}; expected one of {', '.join(PROFILES)}")
        sources = _need(raw, "source", rid, list)
        for s in sources:
            if not isinstance(s, dict) or not all(isinstance(s.get(k), str) and s[k] for k in ("zh", "en", "article")):
                raise RuleError(f"rule {rid}: each source needs non-empty 'zh', 'en' and 'article'; got {s!r}")
        fields = _need(raw, "fields", rid, list)
        if not fields or not all(isinstance(f, str) and f for f in fields):
            raise RuleError(f"rule {rid}: field 'fields' must list the data the rule needs")
        implemented = _need(raw, "implemented", rid, bool)
        check = raw.get("check")
        if implemented:
            if check not in CHECKS:
                raise RuleError(f"rule {rid}: implemented rule has unknown check {check!r}")
        elif not isinstance(raw.get("why_not"), str) or not raw["why_not"].strip():
            raise RuleError(f"rule {rid}: a rule not implemented must say why in 'why_not'")
        out.append(Rule(id=rid, statement=_need(raw, "statement", rid, str), sources=tuple(sources),
                        severity=severity, kind=kind, fields=tuple(fields), profiles=tuple(profiles),
                        implemented=implemented, check=check if implemented else None, why_not=raw.get("why_not"),
                        params=dict(raw.get("params") or {})))
    return tuple(out)


def load_rules(path: str | Path | None = None) -> tuple[Rule, ...]:
    """The rules of a rules file (the package's data/rules.json by default), validated."""
    if path is None:
        return _default_rules()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RuleError(f"rules file {Path(path).name}: not JSON ({exc})") from None
    return parse_rules(data)


@cache
def _default_rules() -> tuple[Rule, ...]:
    return parse_rules(json.loads(RULES_FILE.read_text(encoding="utf-8")))


def rules_for(profile: str = DEFAULT_PROFILE, rules: Iterable[Rule] | None = None) -> tuple[Rule, ...]:
    """The rules of one profile (CN by default)."""
    if profile not in PROFILES:
        raise RuleError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    return tuple(r for r in (load_rules() if rules is None else rules) if profile in r.profiles)


# ----------------------------------------------------------------------------------------------- evaluation
class _Context:
    """What the checks share: the floor, its engine, private zones by group, and terminal attributes."""

    def __init__(self, floor: Floor, attributes: Mapping[str, Mapping[str, Any]] | None,
                 evaluation: Evaluation) -> None:
        self.floor = floor
        self.engine = engine_for(floor)
        self.attributes = attributes or {}
        self.evaluation = evaluation
        uses = set(vocabulary.private_uses())
        # A zone is private if drawn as such or if its use is a private use (Decree 799 makes those private anyway).
        self.private: tuple[Zone, ...] = tuple(z for z in floor.zones if z.zone == "private" or z.use in uses)

    def attr(self, rule: Rule, t: Terminal, name: str) -> Any:
        """A terminal attribute (given attributes first, then the terminal's extra properties); None if unknown."""
        given = self.attributes.get(t.id, {})
        if name in given:
            return given[name]
        if name in t.extra:
            return t.extra[name]
        self.evaluation.missing.append((rule.id, t.id, name))
        return None

    def zones_holding(self, t: Terminal, groups: tuple[str, ...] | None = None) -> list[Zone]:
        """Private zones whose interior holds the terminal (same boundary tolerance as the engine)."""
        p = shapely.Point(t.x, t.y)
        out = []
        for z in self.private:
            group = vocabulary.private_group(z.use) or "PRIVATE"  # a private zone of no known use: the strict group
            if groups is not None and group not in groups:
                continue
            g = z.geometry
            if shapely.contains_xy(g, t.x, t.y) and g.boundary.distance(p) > INSIDE_TOL_M:
                out.append(z)
        return out


def _finding(rule: Rule, t: Terminal | None, message: str, zone: str | None = None,
             area: float | None = None) -> Finding:
    return Finding(rule=rule.id, source=rule.source, severity=rule.severity, terminal=t.id if t else None,
                   zone=zone, message=message, area_m2=None if area is None else round(area, 2))


def _fr_inside_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.face_recognition:
            for z in cx.zones_holding(t, ("PRIVATE",)):
                yield _finding(rule, t, f"face-recognition terminal {t.id} is inside private zone {z.name!r}", z.name)


def _device_inside_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.type in IMAGE_TYPES:
            for z in cx.zones_holding(t):
                yield _finding(rule, t, f"image-collection device {t.id} ({t.type}) is inside private zone {z.name!r}",
                               z.name)


def _view_into_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    tolerance = float(rule.params.get("tolerance_m2", PRIVACY_TOLERANCE_M2))
    for t in cx.floor.terminals:
        if t.type not in IMAGE_TYPES:
            continue
        overlaps = cx.engine.private_overlap(CameraPose.from_terminal(t))
        for zone, g in overlaps.items():
            if g.area > tolerance:
                yield _finding(rule, t, f"{t.id} sees {g.area:.2f} m² inside private zone {zone!r}", zone, g.area)


def _audio_near_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    limit = float(rule.params.get("distance_m", 5.0))
    for t in cx.floor.terminals:
        if not t.audio:
            continue
        for z in cx.private:
            d = z.geometry.distance(shapely.Point(t.x, t.y))
            if d < limit:
                yield _finding(rule, t, f"{t.id} records audio {d:.1f} m from private zone {z.name!r} "
                                        f"(limit {limit:g} m)", z.name)


def _fr_purpose(rule: Rule, cx: _Context) -> Iterable[Finding]:
    allowed = set(rule.params.get("allowed_purposes", ["public_security"]))
    for t in cx.floor.terminals:
        if not t.face_recognition or cx.zones_holding(t):
            continue  # inside a private zone is CN-01's case, not a public area
        purpose = cx.attr(rule, t, "purpose")
        if purpose is not None and purpose not in allowed:
            yield _finding(rule, t, f"face-recognition terminal {t.id} in a public area has purpose {purpose!r}, "
                                    f"not {' or '.join(sorted(allowed))}")


def _camera_signage(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.type in IMAGE_TYPES and cx.attr(rule, t, "signage_posted") is False:
            yield _finding(rule, t, f"{t.id} has no warning sign posted")


def _fr_storage(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if not t.face_recognition:
            continue
        where = cx.attr(rule, t, "storage_location")
        if where is None or where == "on_device":
            continue
        given = {**t.extra, **cx.attributes.get(t.id, {})}
        if given.get("transfer_consent") == "separate" or given.get("legal_basis") == "law":
            continue
        yield _finding(rule, t, f"face data of {t.id} is stored at {where!r} with no separate consent or legal basis "
                                f"recorded")


def _fr_retention(rule: Rule, cx: _Context) -> Iterable[Finding]:
    cap = rule.params.get("max_retention_days")
    for t in cx.floor.terminals:
        if not t.face_recognition:
            continue
        given = {**t.extra, **cx.attributes.get(t.id, {})}
        if "retention_days" not in given:  # unknown is not the same as unset
            cx.evaluation.missing.append((rule.id, t.id, "retention_days"))
            continue
        days = given["retention_days"]
        if days is None or days == "indefinite":
            yield _finding(rule, t, f"face data retention of {t.id} is not set (indefinite)")
        elif cap is not None and float(days) > float(cap):
            yield _finding(rule, t, f"face data of {t.id} is kept {days} days, over the {cap}-day limit")


def _fr_necessity(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if not t.face_recognition:
            continue
        note = {**t.extra, **cx.attributes.get(t.id, {})}.get("necessity_note")
        if not (isinstance(note, str) and note.strip()):
            yield _finding(rule, t, f"face-recognition terminal {t.id} has no necessity note: a removal candidate")


CHECKS: dict[str, Callable[[Rule, _Context], Iterable[Finding]]] = {
    "fr_inside_private": _fr_inside_private,
    "device_inside_private": _device_inside_private,
    "view_into_private": _view_into_private,
    "audio_near_private": _audio_near_private,
    "fr_purpose": _fr_purpose,
    "camera_signage": _camera_signage,
    "fr_storage": _fr_storage,
    "fr_retention": _fr_retention,
    "fr_necessity": _fr_necessity,
}


def evaluate(floor: Floor, attributes: Mapping[str, Mapping[str, Any]] | None = None,
             profile: str = DEFAULT_PROFILE, rules: Iterable[Rule] | None = None) -> Evaluation:
    """Findings of the profile's implemented rules on one floor, with the data each rule lacked."""
    evaluation = Evaluation()
    cx = _Context(floor, attributes, evaluation)
    for rule in rules_for(profile, rules):
        if rule.implemented and rule.check:
            evaluation.findings.extend(CHECKS[rule.check](rule, cx))
    return evaluation
