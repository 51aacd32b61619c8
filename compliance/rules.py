"""Compliance rules as data (data/rules.json): a validated loader and an evaluator over a planner floor.

The evaluator takes plain data: a ``planner.floor.Floor`` and, per terminal id, a mapping of inventory attributes
(purpose, storage_location, retention_days, signage_posted, ...). Attributes missing from that mapping fall back to
the terminal's ``extra`` properties. Geometric checks use the one coverage engine (``planner.coverage.Engine``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import shapely

from compliance import vocabulary
from planner.coverage import (
    COVERING_TYPES,
    INSIDE_TOL_M,
    PRIVACY_TOLERANCE_M2,
    CameraPose,
    Engine,
    engine_for,
)
from planner.floor import Floor, Terminal, Zone
from planner.geometry import polygonal, robust_overlay

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
    scope: str = "floor"  # "floor": evaluated per floor; "entity": across the venues of a legal entity

    @cached_property  # every finding names it: a floor's 500 findings joined 500 times what never changes
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
    msgid: str  # the English message with %(name)s placeholders (a catalogue msgid); shown translated
    params: dict[str, Any]  # its values: numbers as numbers, ids and names as strings
    area_m2: float | None = None
    zone_key: str | None = None  # the zone's stable feature id, when the floor gives one
    geometry: dict[str, Any] | None = field(default=None, compare=False)  # GeoJSON of the offending area
    detail: dict[str, Any] = field(default_factory=dict, compare=False)


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
        scope = raw.get("scope", "floor")
        if scope not in ("floor", "entity"):
            raise RuleError(f"rule {rid}: unknown scope {scope!r}; expected floor or entity")
        if implemented and (check in ENTITY_CHECKS) != (scope == "entity"):
            raise RuleError(f"rule {rid}: check {check!r} does not run with scope {scope!r}")
        if implemented:
            if check not in CHECKS and check not in ENTITY_CHECKS:
                raise RuleError(f"rule {rid}: implemented rule has unknown check {check!r}")
        elif not isinstance(raw.get("why_not"), str) or not raw["why_not"].strip():
            raise RuleError(f"rule {rid}: a rule not implemented must say why in 'why_not'")
        out.append(Rule(id=rid, statement=_need(raw, "statement", rid, str), sources=tuple(sources),
                        severity=severity, kind=kind, fields=tuple(fields), profiles=tuple(profiles),
                        implemented=implemented, check=check if implemented else None, why_not=raw.get("why_not"),
                        params=dict(raw.get("params") or {}), scope=scope))
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
                 evaluation: Evaluation, engine: Engine | None = None) -> None:
        self.floor = floor
        self.engine = engine if engine is not None else engine_for(floor)
        self.attributes = attributes or {}
        self.evaluation = evaluation
        uses = set(vocabulary.always_private_uses())
        # A zone is private if drawn as such or if its use is always private (Decree 799 makes those private anyway);
        # uses such as staff_rest_room are private only where the venue draws them so (vocabulary's always_private).
        self.private: tuple[Zone, ...] = tuple(z for z in floor.zones if z.zone == "private" or z.use in uses)
        self.private_tree = shapely.STRtree([z.geometry for z in self.private])

    def attr(self, rule: Rule, t: Terminal, name: str) -> Any:
        """A terminal attribute (given attributes first, then the terminal's extra properties); None if unknown."""
        given = self.attributes.get(t.id, {})
        if name in given:
            return given[name]
        if name in t.extra:
            return t.extra[name]
        self.evaluation.missing.append((rule.id, t.id, name))
        return None

    def sign_points(self) -> list[shapely.Point]:
        """Positions of the signs recorded on this floor (each terminal's sign, where it has one)."""
        out = []
        for t in self.floor.terminals:
            given = {**t.extra, **self.attributes.get(t.id, {})}
            x, y = given.get("signage_x"), given.get("signage_y")
            if x is not None and y is not None and given.get("signage_posted") is not False:
                out.append(shapely.Point(float(x), float(y)))
        return out

    def near_private(self, geometry: Any) -> list[Zone]:
        """Private zones whose bounding box meets the geometry's (a spatial-index prefilter)."""
        return [self.private[i] for i in sorted(self.private_tree.query(geometry))] if self.private else []

    def zones_holding(self, t: Terminal, groups: tuple[str, ...] | None = None) -> list[Zone]:
        """Private zones whose interior holds the terminal (same boundary tolerance as the engine)."""
        p = shapely.Point(t.x, t.y)
        out = []
        for z in self.near_private(p):
            group = vocabulary.private_group(z.use) or "PRIVATE"  # a private zone of no known use: the strict group
            if groups is not None and group not in groups:
                continue
            g = z.geometry
            if shapely.contains_xy(g, t.x, t.y) and g.boundary.distance(p) > INSIDE_TOL_M:
                out.append(z)
        return out


def N_(message: str) -> str:  # noqa: N802 - the gettext convention; compliance/ imports no app package (i18n.N_)
    """Mark a finding's message for the catalogue; it is stored untranslated and translated when shown."""
    return message


# Every finding message, by what it reports. A finding stores its msgid and params (findings.wording renders them
# in the reader's language); the English of old rows, stored before msgids were, is read back against these.
MESSAGES: dict[str, str] = {
    "fr_inside_private": N_("face-recognition terminal %(terminal)s is inside private zone '%(zone)s'"),
    "device_inside_private": N_("image-collection device %(terminal)s (%(type)s) is inside private zone "
                                "'%(zone)s'"),
    "view_into_private": N_("%(terminal)s sees %(area)s m² inside private zone '%(zone)s'"),
    "audio_near_private": N_("%(terminal)s records audio %(distance)s m from private zone '%(zone)s' "
                             "(limit %(limit)s m)"),
    "fr_purpose": N_("face-recognition terminal %(terminal)s in a public area has purpose '%(purpose)s', "
                     "not %(allowed)s"),
    "no_sign": N_("%(terminal)s has no warning sign posted"),
    "unsigned_entrances": N_("monitored zone '%(zone)s': %(bare)s of %(entrances)s entrance(s) have no sign "
                             "within %(limit)s m"),
    "no_notice": N_("face-recognition terminal %(terminal)s has no face-recognition notice posted"),
    "notice_inside": N_("the notice of %(terminal)s is inside its capture area: people read it only once they "
                        "are being scanned"),
    "notice_far": N_("the notice of %(terminal)s is %(distance)s m from its capture area (more than %(limit)s m): "
                     "not seen just before entering it"),
    "capture_zone_missing": N_("%(terminal)s declares capture zone '%(zone)s', which is not on this floor"),
    "capture_beyond": N_("%(terminal)s captures faces over %(area)s m² beyond its declared capture zone "
                         "'%(zone)s'"),
    "no_alternative": N_("face verification at %(terminal)s offers no card, code, PIN or staff alternative"),
    "consent": N_("face recognition at %(terminal)s relies on consent '%(mechanism)s', not an explicit separate "
                  "opt-in"),
    "no_purpose": N_("%(terminal)s has no documented purpose"),
    "vague_purpose": N_("%(terminal)s has a vague documented purpose ('%(purpose)s')"),
    "video_indefinite": N_("footage of %(terminal)s has no retention period (indefinite)"),
    "video_over_cap": N_("footage of %(terminal)s is kept %(days)s days, over the %(limit)s-day maximum"),
    "video_unjustified": N_("footage of %(terminal)s is kept %(days)s days (over %(limit)s) with no justification "
                            "in its necessity note"),
    "fr_storage": N_("face data of %(terminal)s is stored at '%(storage)s' with no separate consent or legal "
                     "basis recorded"),
    "fr_indefinite": N_("face data retention of %(terminal)s is not set (indefinite)"),
    "fr_over_cap": N_("face data of %(terminal)s is kept %(days)s days, over the %(limit)s-day limit"),
    "fr_necessity": N_("face-recognition terminal %(terminal)s has no necessity note: a removal candidate"),
    # compliance.filing (entity scope)
    "filing_warning": N_("%(entity)s stores face data of %(enrolled)s people, %(share)s of the %(threshold)s "
                         "filing threshold: prepare the CAC filing"),
    "filing_due": N_("%(entity)s stores face data of %(enrolled)s people (threshold %(threshold)s) and has no CAC "
                     "filing: file by %(deadline)s"),
    "filing_overdue": N_("%(entity)s stores face data of %(enrolled)s people (threshold %(threshold)s) and has no "
                         "CAC filing: file by %(deadline)s (overdue)"),
    "deregister_due": N_("%(entity)s no longer uses face recognition: deregister its CAC filing by %(deadline)s"),
    "deregister_overdue": N_("%(entity)s no longer uses face recognition: deregister its CAC filing by "
                             "%(deadline)s (overdue)"),
}


def _number(value: Any) -> int | float:
    """A count or limit as a number (an int when whole), for a finding's params."""
    number = float(value)
    return int(number) if number.is_integer() else number


def _finding(rule: Rule, t: Terminal | None, msgid: str, params: dict[str, Any], zone: Zone | str | None = None,
             area: float | None = None, geometry: Any = None, **detail: Any) -> Finding:
    name = zone.name if isinstance(zone, Zone) else zone
    key = None if not isinstance(zone, Zone) or zone.feature_id is None else str(zone.feature_id)
    shape = None
    if geometry is not None and not geometry.is_empty:
        shape = shapely.geometry.mapping(shapely.set_precision(geometry, 0.01))
    return Finding(rule=rule.id, source=rule.source, severity=rule.severity, terminal=t.id if t else None,
                   zone=name, msgid=msgid, params=params, area_m2=None if area is None else round(area, 2),
                   zone_key=key, geometry=shape, detail=detail)


def _fr_inside_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.face_recognition:
            for z in cx.zones_holding(t, ("PRIVATE",)):
                yield _finding(rule, t, MESSAGES["fr_inside_private"], {"terminal": t.id, "zone": z.name}, z)


def _device_inside_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.type in IMAGE_TYPES:
            for z in cx.zones_holding(t):
                yield _finding(rule, t, MESSAGES["device_inside_private"],
                               {"terminal": t.id, "type": t.type, "zone": z.name}, z)


def _view_into_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    tolerance = float(rule.params.get("tolerance_m2", PRIVACY_TOLERANCE_M2))
    for t in cx.floor.terminals:
        if t.type not in IMAGE_TYPES:
            continue
        # The engine's wall-clipped view (as private_overlap uses), clipped to each private zone near it: zones
        # drawn private and zones drawn otherwise whose use is always private.
        view = cx.engine.view(CameraPose.from_terminal(t))
        for zone in cx.near_private(view):
            if not view.intersects(zone.geometry):
                continue
            g = polygonal(robust_overlay("intersection", view, zone.geometry))
            if g.area > tolerance:
                yield _finding(rule, t, MESSAGES["view_into_private"],
                               {"terminal": t.id, "area": round(g.area, 2), "zone": zone.name}, zone, g.area, g)


def _audio_near_private(rule: Rule, cx: _Context) -> Iterable[Finding]:
    limit = float(rule.params.get("distance_m", 5.0))
    for t in cx.floor.terminals:
        if not t.audio:
            continue
        for z in cx.private:
            d = z.geometry.distance(shapely.Point(t.x, t.y))
            if d < limit:
                yield _finding(rule, t, MESSAGES["audio_near_private"], {"terminal": t.id, "distance": round(d, 1),
                                                                         "zone": z.name, "limit": limit},
                               z, distance_m=round(d, 2))


def _fr_purpose(rule: Rule, cx: _Context) -> Iterable[Finding]:
    allowed = set(rule.params.get("allowed_purposes", ["public_security"]))
    for t in cx.floor.terminals:
        if not t.face_recognition or cx.zones_holding(t):
            continue  # inside a private zone is CN-01's case, not a public area
        purpose = cx.attr(rule, t, "purpose")
        if purpose is not None and purpose not in allowed:
            yield _finding(rule, t, MESSAGES["fr_purpose"], {"terminal": t.id, "purpose": str(purpose),
                                                                "allowed": sorted(allowed)})


def _camera_signage(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if t.type in IMAGE_TYPES and cx.attr(rule, t, "signage_posted") is False:
            yield _finding(rule, t, MESSAGES["no_sign"], {"terminal": t.id})
    yield from _unsigned_entrances(rule, cx)


def _unsigned_entrances(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """Monitored public zones with an entrance (an opening on their boundary) that has no sign near it."""
    signs = cx.sign_points()
    if not signs:
        cx.evaluation.missing.append((rule.id, "", "signage.position"))
        return  # no sign positions recorded on this floor: the geometric part cannot be judged
    near = float(rule.params.get("sign_distance_m", 3.0))
    min_seen = float(rule.params.get("monitored_min_m2", 1.0))
    views = [cx.engine.view(CameraPose.from_terminal(t)) for t in cx.floor.terminals if t.type in IMAGE_TYPES]
    views = [v for v in views if not v.is_empty]
    tree = shapely.STRtree(views)
    private = {id(z) for z in cx.private}
    openings = [o.geometry for o in cx.floor.openings]
    opening_tree, sign_tree = shapely.STRtree(openings), shapely.STRtree(signs)
    for z in cx.floor.zones:
        if id(z) in private or not views:
            continue
        g = z.geometry
        seen = 0.0
        for i in tree.query(g, predicate="intersects"):
            seen += polygonal(robust_overlay("intersection", views[i], g)).area
            if seen >= min_seen:
                break
        if seen < min_seen:
            continue  # not monitored
        entrances = [openings[i] for i in sorted(opening_tree.query(g.buffer(ENTRANCE_TOL_M), predicate="intersects"))
                     if openings[i].distance(g.boundary) <= ENTRANCE_TOL_M]
        bare = [o for o in entrances if not len(sign_tree.query(o, predicate="dwithin", distance=near))]
        if bare:
            points = [[round(c, 2) for c in o.interpolate(0.5, normalized=True).coords[0]] for o in bare]
            yield _finding(rule, None, MESSAGES["unsigned_entrances"], {"zone": z.name, "bare": len(bare),
                                                                         "entrances": len(entrances), "limit": near},
                           z, entrances=points)


def _fr_notice(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """Face terminals in public areas need a face-recognition notice placed before their capture area."""
    before = float(rule.params.get("before_m", 5.0))
    for t in cx.floor.terminals:
        if not t.face_recognition or cx.zones_holding(t):
            continue
        posted, kind = cx.attr(rule, t, "signage_posted"), cx.attr(rule, t, "signage_type")
        if posted is False or (posted and kind not in (None, "face_notice")):
            yield _finding(rule, t, MESSAGES["no_notice"], {"terminal": t.id})
            continue
        sx, sy = cx.attr(rule, t, "signage_x"), cx.attr(rule, t, "signage_y")
        if posted is None or kind is None or sx is None or sy is None:
            continue  # recorded as missing by attr(); the position decides the rest
        view = cx.engine.view(CameraPose.from_terminal(t))
        sign = shapely.Point(float(sx), float(sy))
        if view.buffer(INSIDE_TOL_M).contains(sign):
            yield _finding(rule, t, MESSAGES["notice_inside"], {"terminal": t.id}, sign=[float(sx), float(sy)])
        elif view.distance(sign) > before:
            yield _finding(rule, t, MESSAGES["notice_far"], {"terminal": t.id, "distance": round(view.distance(sign), 1),
                                                                "limit": before}, sign=[float(sx), float(sy)])


def _fr_capture_zone(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """A face terminal's capture area (its view) must stay inside its declared capture zone."""
    tolerance = float(rule.params.get("tolerance_m2", 0.05))
    zones = {str(z.feature_id): z for z in cx.floor.zones if z.feature_id is not None}
    for t in cx.floor.terminals:
        if not t.face_recognition or t.type not in IMAGE_TYPES:
            continue
        key = cx.attr(rule, t, "capture_zone")
        if not key:
            if key is not None:  # declared blank: nothing limits the capture area
                cx.evaluation.missing.append((rule.id, t.id, "capture_zone"))
            continue
        zone = zones.get(str(key))
        if zone is None:
            yield _finding(rule, t, MESSAGES["capture_zone_missing"], {"terminal": t.id, "zone": str(key)})
            continue
        view = cx.engine.view(CameraPose.from_terminal(t))
        beyond = polygonal(robust_overlay("difference", view, zone.geometry))
        if beyond.area > tolerance:
            yield _finding(rule, t, MESSAGES["capture_beyond"], {"terminal": t.id, "area": round(beyond.area, 2),
                                                                    "zone": zone.name}, zone, beyond.area, beyond)


def _fr_alternative(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """A face-verification point (a face terminal) offers a non-biometric alternative at the same point."""
    for t in cx.floor.terminals:
        if not t.face_recognition or t.type != "face_terminal":
            continue  # a face-recognising camera is no verification point
        if cx.attr(rule, t, "alternative_verification") == "none":
            yield _finding(rule, t, MESSAGES["no_alternative"], {"terminal": t.id})


def _consent(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """Consent-based face recognition needs an explicit, separate opt-in (bundled or implied consent fails)."""
    explicit = set(rule.params.get("explicit", ["separate_opt_in", "written"]))
    basis_ok = set(rule.params.get("no_consent_needed", ["legal_basis"]))
    for t in cx.floor.terminals:
        if not t.face_recognition:
            continue
        mechanism = cx.attr(rule, t, "consent_mechanism")
        if mechanism is None or mechanism in explicit or mechanism in basis_ok:
            continue
        if mechanism == "none" and rule.params.get("public_security_needs_none") \
                and {**t.extra, **cx.attributes.get(t.id, {})}.get("purpose") == "public_security":
            continue
        yield _finding(rule, t, MESSAGES["consent"], {"terminal": t.id, "mechanism": str(mechanism)})


def _vague_purpose(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """Each camera documents a specific purpose; blank or vague ("for your safety") purposes fail."""
    vague = {v.casefold() for v in rule.params.get("vague", [])}
    for t in cx.floor.terminals:
        if t.type not in IMAGE_TYPES:
            continue
        purpose = cx.attr(rule, t, "purpose")
        if purpose is None:
            continue
        text = str(purpose).strip().casefold().replace("_", " ")
        if not text or text in vague:
            yield _finding(rule, t, MESSAGES["vague_purpose"], {"terminal": t.id, "purpose": str(purpose)}) if text \
                else _finding(rule, t, MESSAGES["no_purpose"], {"terminal": t.id})


def _video_retention(rule: Rule, cx: _Context) -> Iterable[Finding]:
    """Footage is kept only as long as needed: beyond the usual days a justification is due, beyond the cap never."""
    usual = float(rule.params.get("usual_days", 3))
    cap = float(rule.params.get("max_days", 30))
    for t in cx.floor.terminals:
        if t.type not in IMAGE_TYPES:
            continue
        given = {**t.extra, **cx.attributes.get(t.id, {})}
        if "retention_days" not in given:
            cx.evaluation.missing.append((rule.id, t.id, "retention_days"))
            continue
        days = given["retention_days"]
        note = given.get("necessity_note")
        if days is None or days == "indefinite":
            yield _finding(rule, t, MESSAGES["video_indefinite"], {"terminal": t.id})
        elif float(days) > cap:
            yield _finding(rule, t, MESSAGES["video_over_cap"], {"terminal": t.id, "days": _number(days), "limit": cap})
        elif float(days) > usual and not (isinstance(note, str) and note.strip()):
            yield _finding(rule, t, MESSAGES["video_unjustified"], {"terminal": t.id, "days": _number(days),
                                                                       "limit": usual})


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
        yield _finding(rule, t, MESSAGES["fr_storage"], {"terminal": t.id, "storage": str(where)})


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
            yield _finding(rule, t, MESSAGES["fr_indefinite"], {"terminal": t.id})
        elif cap is not None and float(days) > float(cap):
            yield _finding(rule, t, MESSAGES["fr_over_cap"], {"terminal": t.id, "days": _number(days),
                                                                 "limit": _number(cap)})


def _fr_necessity(rule: Rule, cx: _Context) -> Iterable[Finding]:
    for t in cx.floor.terminals:
        if not t.face_recognition:
            continue
        note = {**t.extra, **cx.attributes.get(t.id, {})}.get("necessity_note")
        if not (isinstance(note, str) and note.strip()):
            yield _finding(rule, t, MESSAGES["fr_necessity"], {"terminal": t.id})


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
    "fr_notice": _fr_notice,
    "fr_capture_zone": _fr_capture_zone,
    "fr_alternative": _fr_alternative,
    "consent": _consent,
    "vague_purpose": _vague_purpose,
    "video_retention": _video_retention,
}
# Checks that count across all the venues of a legal entity; compliance.filing runs them, not the floor evaluator.
ENTITY_CHECKS = ("filing_threshold", "filing_deregistration")
# What each check reads besides the floor's outline, walls, openings and zones (which every check may read), so an
# edit of terminals alone re-evaluates only what it can change (findings.service.evaluate_terminals):
#   "terminal": every finding is one terminal's, from that terminal's own pose, kind and fields;
#   "floor":    findings read every terminal of the floor, so the check runs over the whole floor again;
#   "split":    a finding that names a terminal reads that terminal alone (camera_signage: its own sign), one that
#               names none reads every terminal (a monitored zone's entrances against every view and every sign);
#   "entity":   sums over the terminals of every venue of the legal entity (CN-19 enrolled, CN-20 retired).
READS: dict[str, str] = {
    "fr_inside_private": "terminal",
    "device_inside_private": "terminal",
    "view_into_private": "terminal",
    "audio_near_private": "terminal",
    "fr_purpose": "terminal",
    "camera_signage": "split",
    "fr_storage": "terminal",
    "fr_retention": "terminal",
    "fr_necessity": "terminal",
    "fr_notice": "terminal",
    "fr_capture_zone": "terminal",
    "fr_alternative": "terminal",
    "consent": "terminal",
    "vague_purpose": "terminal",
    "video_retention": "terminal",
    "filing_threshold": "entity",
    "filing_deregistration": "entity",
}


def reads(rule: Rule) -> str:
    """What the rule's findings read (READS); a rule with no check reads the floor, so its old findings go."""
    return READS.get(rule.check or "", "floor")
ENTRANCE_TOL_M = 0.3  # an opening this close to a zone's boundary is one of its entrances


def evaluate(floor: Floor, attributes: Mapping[str, Mapping[str, Any]] | None = None,
             profile: str = DEFAULT_PROFILE, rules: Iterable[Rule] | None = None,
             engine: Engine | None = None) -> Evaluation:
    """Findings of the profile's implemented rules on one floor, with the data each rule lacked.

    ``engine`` may be an engine built for a floor of the same outline, walls, openings and zones (its view cache
    is then reused); by default the floor's own cached engine is used.
    """
    evaluation = Evaluation()
    cx = _Context(floor, attributes, evaluation, engine)
    for rule in rules_for(profile, rules):
        if rule.implemented and rule.check in CHECKS:
            evaluation.findings.extend(CHECKS[rule.check](rule, cx))
    return evaluation


def evaluate_changed(floor: Floor, codes: Iterable[str], attributes: Mapping[str, Mapping[str, Any]] | None = None,
                     profile: str = DEFAULT_PROFILE, engine: Engine | None = None) -> Evaluation:
    """The findings an edit of only these terminals can change: theirs under the rules that read one terminal,
    every finding of the rules that read the whole floor, and those of the split rules that name no terminal or one
of these (READS); ``engine`` as for ``evaluate``."""
    codes = set(codes)
    scoped = [r for r in load_rules() if r.scope == "floor"]
    own = replace(floor, terminals=tuple(t for t in floor.terminals if t.id in codes))
    evaluation = evaluate(own, attributes, profile, [r for r in scoped if reads(r) == "terminal"], engine)
    whole = evaluate(floor, attributes, profile, [r for r in scoped if reads(r) in ("floor", "split")], engine)
    split = {r.id for r in scoped if reads(r) == "split"}
    evaluation.findings.extend(f for f in whole.findings
                               if f.rule not in split or f.terminal is None or f.terminal in codes)
    evaluation.missing.extend(whole.missing)
    return evaluation
