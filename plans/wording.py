"""The result of a plan told in words: one headline and one badge, from the same counts as every table."""

from __future__ import annotations

import re
from html import escape, unescape
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext

from inventory.choices import N_, label_of


def terminals_phrase(cameras: int, face: int) -> str:
    """'5 cameras', or '5 cameras and 1 face-recognition terminal' when there are face terminals."""
    words = ngettext("%(num)d camera", "%(num)d cameras", cameras)
    if face:
        words = _("%(cameras)s and %(face)s", cameras=words,
                  face=ngettext("%(num)d face-recognition terminal", "%(num)d face-recognition terminals", face))
    return words


def drawing_counts(cameras: int, face: int) -> str:
    """Caption counts of a drawing: '5 cameras', or '5 cameras, 1 face terminals'."""
    if face:
        return _("%(cameras)s cameras, %(face)s face terminals", cameras=cameras, face=face)
    return _("%(cameras)s cameras", cameras=cameras)


def join_and(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c' in the request's language."""
    if len(parts) == 1:
        return parts[0]
    return _("%(first)s and %(last)s", first=_(", ").join(parts[:-1]), last=parts[-1])


def area_of(area_m2: float, zone: str) -> str:
    """'12.3 m² of Storeroom'."""
    return _("%(area).1f m² of %(zone)s", area=area_m2, zone=zone)


def _uncoverable(infeasible: list[dict[str, Any]]) -> str:
    by_zone: dict[str, float] = {}
    for item in infeasible:
        by_zone[str(item.get("zone"))] = by_zone.get(str(item.get("zone")), 0.0) + float(item.get("area_m2", 0.0))
    return join_and([area_of(area, zone) for zone, area in by_zone.items()])


def proven(result: dict[str, Any] | None) -> bool:
    """Whether the certificate proves no plan with fewer cameras reaches the same target (bound meets the plan)."""
    if not result or result.get("objective") is None:
        return False
    status = result.get("status")
    return status == "OPTIMAL" or (status == "FEASIBLE" and int(result.get("bound") or 0) >= int(result["objective"]))


def headline(state: str, result: dict[str, Any] | None, counts: dict[str, int]) -> str:
    """One or two sentences: how many cameras instead of how many, whether that is proven, what stays unseen."""
    if state == "failed":
        return _("The run failed; there is no plan.")
    if not result or result.get("objective") is None:
        if state == "cancelled" or (result or {}).get("status") == "CANCELLED":
            return _("Cancelled before a plan was found.")
        if state in ("queued", "running"):
            return _("The optimizer is still working.")
        return _("No plan was found within the time limit; run again with more time.")
    after = terminals_phrase(counts["after_cameras"], counts["after_face"])
    before = terminals_phrase(counts["before_cameras"], counts["before_face"])
    lead = _("%(after)s instead of %(before)s", after=after, before=before)
    status = result.get("status")
    infeasible = result.get("infeasible") or []
    seen = _("any allowed camera position") if result.get("mode") == "design" else _("any installed camera")
    if state == "cancelled" or status == "CANCELLED":
        return _("Cancelled: the best plan found so far uses %(after)s instead of %(before)s; "
                 "it is not proven minimal and may leave required area unseen.", after=after, before=before)
    if status == "INCOMPLETE":
        unseen = float(result["coverable_unseen_m2"] if result.get("coverable_unseen_m2") is not None
                       else (result.get("uncovered_m2") or {}).get("total") or 0.0)
        where = _(" (stopped in %(stage)s)", stage=result["stopped_in"]) if result.get("stopped_in") else ""
        return _("Time ran out%(where)s before the plan covered every required area: %(after)s so far leave "
                 "%(unseen).1f m² that cameras could see unseen. Run again with more time.",
                 where=where, after=after, unseen=unseen)
    if proven(result) and not infeasible:
        return _("%(lead)s; no plan with fewer exists for these cameras (proven); every required area is covered.",
                 lead=lead)
    # Area no allowed pose sees, apart from area a pose could see but the slack model gave up (each mount takes one
    # pose and those poses are needed elsewhere): saying "can't be seen by any camera" of the latter is untrue.
    given_up = [i for i in infeasible if i.get("cause") == "given_up"]
    uncoverable = [i for i in infeasible if i.get("cause") != "given_up"]
    also = (" " + _("%(unseen)s stays unseen only because each mount takes one pose and the poses that would see it "
                    "are needed elsewhere.", unseen=_uncoverable(given_up))) if given_up else ""
    if proven(result):
        if not uncoverable:
            return _("%(lead)s; proven minimal for the area the mounts can see together.", lead=lead) + also
        return _("%(lead)s; proven minimal among plans that see everything coverable. %(unseen)s "
                 "can't be seen by %(seen)s (shown in the map and listed).", lead=lead,
                 unseen=_uncoverable(uncoverable), seen=seen) + also
    bound = int(result.get("bound") or 0)
    proof = ngettext("not proven minimal: at least %(num)d camera is needed, so at most %(saved)s could still be saved",
                     "not proven minimal: at least %(num)d cameras are needed, so at most %(saved)s could still be saved",
                     bound, saved=int(result["objective"]) - bound) if bound else \
        _("not proven minimal: the solver found no useful lower bound in the time given")
    if not infeasible:
        tail = _("every required area is covered.")
    elif uncoverable:
        tail = _("%(unseen)s can't be seen by %(seen)s.", unseen=_uncoverable(uncoverable), seen=seen) + also
    else:
        tail = also.lstrip()
    return _("%(lead)s; %(proof)s; %(tail)s", lead=lead, proof=proof, tail=tail)


def badge(state: str, result: dict[str, Any] | None) -> tuple[str, str]:
    """(css class, text) of the certificate badge, consistent with the headline."""
    status = (result or {}).get("status")
    if state != "done" or status in (None, "CANCELLED", "UNKNOWN"):
        return "warn", _({"failed": N_("failed"), "cancelled": N_("cancelled"), "queued": N_("queued"),
                          "running": N_("running")}.get(state, N_("no plan")))
    if proven(result) and not (result or {}).get("infeasible"):
        return "good", _("proven minimal")
    if proven(result):
        return "warn", _("proven minimal; some area can't be seen")
    if status == "INCOMPLETE":
        return "bad", _("incomplete")
    return "warn", _("not proven minimal")


# The planner (pure engine, English only) explains its decisions in these phrases; shown translated.
_PLANNER_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), message) for pattern, message in (
    (r"locked keep \(not used for coverage\)", N_("locked keep (not used for coverage)")),
    (r"locked keep", N_("locked keep")),
    (r"locked remove", N_("locked remove")),
    (r"mounted inside private zone ['\"](?P<zone>.*)['\"]", N_("mounted inside private zone '%(zone)s'")),
    (r"sees (?P<area>[\d.]+) m² of private zone ['\"](?P<zone>.*)['\"]", N_("sees %(area)s m² of private zone '%(zone)s'")),
    (r"face recognition is not used for coverage", N_("face recognition is not used for coverage")),
    (r"(?P<type>\w+) is outside the coverage model", N_("%(type)s is outside the coverage model")),
    (r"design mode places new cameras", N_("design mode places new cameras")),
    (r"needed for coverage after turning at its mount", N_("needed for coverage after turning at its mount")),
    (r"needed for coverage", N_("needed for coverage")),
    (r"not privacy-checked before the time limit", N_("not privacy-checked before the time limit")),
    (r"not needed: the kept cameras cover its area", N_("not needed: the kept cameras cover its area")),
    (r"new camera needed for coverage", N_("new camera needed for coverage")),
    (r"no (?P<k>\d+) allowed camera poses can see this part at tier (?P<tier>\w+)",
     N_("no %(k)s allowed camera poses can see this part at tier %(tier)s")),
    (r"given up: each mount takes one pose, and the poses that would see this part at tier (?P<tier>\w+) are needed "
     r"elsewhere", N_("given up: each mount takes one pose, and the poses that would see this part at tier %(tier)s "
                      "are needed elsewhere")),
    (r"no (?P<k>\d+) allowed camera poses can see this part at tier (?P<tier>\w+); (?P<area>[\d.]+) m² of it only "
     r"because each mount takes one pose \(the poses that would see it are needed elsewhere\)",
     N_("no %(k)s allowed camera poses can see this part at tier %(tier)s; %(area)s m² of it only because each "
        "mount takes one pose (the poses that would see it are needed elsewhere)")),
))


def planner_reason(text: str | None) -> str:
    """The planner's English explanation in the request's language (unknown phrases as they are)."""
    text = str(text or "")
    for pattern, message in _PLANNER_PHRASES:
        match = pattern.fullmatch(text)
        if match:
            values = match.groupdict()
            if "type" in values:
                values["type"] = label_of(values["type"])
            if "tier" in values:
                values["tier"] = label_of(values["tier"])
            return _(message, **values)
    return text


def _need(entry: dict[str, Any]) -> str:
    if int(entry.get("k", 1)) <= 1:
        return _("the only camera that sees %(area)s", area=area_of(entry["uncovered_m2"], entry["zone"]))
    return _("without it %(area)s would be seen by fewer than %(k)s cameras",
             area=area_of(entry["uncovered_m2"], entry["zone"]), k=entry["k"])


def decision_reason(decision: str, item: dict[str, Any], removed: dict[str, Any], needed: list[dict]) -> str:
    """One sentence of why a terminal is kept, turned, removed or added, about this terminal only."""
    base = str(item.get("reason", ""))
    if decision == "remove":
        covered_by = sorted(removed.get("now_covered_by", {}))
        if covered_by and base.startswith("not needed"):
            return _("removed: everything it sees of the required zones is seen by %(cameras)s",
                     cameras=join_and(covered_by))
        if removed and not removed.get("required_area_m2") and base.startswith("not needed"):
            return _("removed: it sees no part of a required zone (at the detail each zone requires)")
        return _("removed: %(why)s", why=planner_reason(base)) if base else _("removed")
    if decision == "add":
        lead = _("new camera at (%(x).1f, %(y).1f) m facing %(heading).0f°", x=item.get("x", 0), y=item.get("y", 0),
                 heading=item.get("heading_deg", 0))
    elif decision == "reaim":
        lead = _("kept, turned from %(old)s° to %(new).0f°", old=item["from_heading_deg"], new=item.get("heading_deg", 0)) \
            if "from_heading_deg" in item else _("kept, turned to %(new).0f°", new=item.get("heading_deg", 0))
    else:
        lead = _("kept (locked keep)") if base == "locked keep" else _("kept")
    if needed:
        return _("%(lead)s: %(why)s", lead=lead, why=_("; ").join(_need(n) for n in needed))
    if base and base != "locked keep":
        return _("%(lead)s: %(why)s", lead=lead, why=planner_reason(base))
    return lead


def decision_reasons(result: dict[str, Any] | None, necessity: dict[str, list[dict]] | None) -> dict[str, str]:
    """Per decision row (terminal id, or N1, N2, ... for new cameras) its reason, from the stored optimizer result."""
    result = result or {}
    explained = (result.get("explanations") or {}).get("removed", {})
    reasons: dict[str, str] = {}
    added = 0
    for item in result.get("decisions", []):
        if item["decision"] == "add":
            added += 1
            code = added_name(added)
        else:
            code = str(item.get("id"))
        reasons[code] = decision_reason(item["decision"], item, explained.get(code, {}), (necessity or {}).get(code, []))
    return reasons


def added_name(number: int) -> str:
    """The readable name of the n-th proposed new camera (N1, N2, ...)."""
    return f"N{number}"


def _title(text: str) -> str:
    return "<title>" + escape(text) + "</title>"


_DRAWING_TEXT: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r'(text-anchor="middle">)N(</text></g>)'), lambda m: m[1] + escape(pgettext("north arrow", "N")) + m[2]),
    (re.compile(r'(text-anchor="middle">)([\d.]+) m(</text></g>)'),
     lambda m: m[1] + escape(_("%(length)s m", length=m[2])) + m[3]),
    (re.compile(r"<title>([^<]*) \((private|required|general)\)</title>"),
     lambda m: _title(unescape(m[1]) + " (" + label_of(m[2]) + ")")),
    (re.compile(r"<title>([^<:]*): (kept|removed)</title>"),
     lambda m: _title(unescape(m[1]) + ": " + (_("kept") if m[2] == "kept" else _("removed")))),
    (re.compile(r"<title>([^<:]*): new camera at \(([-\d.]+), ([-\d.]+)\)</title>"),
     lambda m: _title(unescape(m[1]) + ": " + _("new camera at (%(x)s, %(y)s)", x=m[2], y=m[3]))),
    (re.compile(r"<title>([^<]*) sees into ([^<]*)</title>"),
     lambda m: _title(_("%(camera)s sees into %(zone)s", camera=unescape(m[1]), zone=unescape(m[2])))),
    (re.compile(r"<title>([^<]*): ([\d.]+) m² uncovered</title>"),
     lambda m: _title(_("%(zone)s: %(area)s m² uncovered", zone=unescape(m[1]), area=m[2]))),
)


def localize_drawing(svg: str) -> str:
    """A stored plan drawing (drawn in English by the worker) with its labels and tooltips in the request's language."""
    for pattern, replace in _DRAWING_TEXT:
        svg = pattern.sub(replace, svg)
    return svg


def localized_drawings(drawings: dict[str, Any] | None) -> dict[str, Any] | None:
    """The plan's drawings with before/after localised (counts unchanged)."""
    if not drawings:
        return drawings
    return {key: localize_drawing(value) if key in ("before", "after") and isinstance(value, str) else value
            for key, value in drawings.items()}
