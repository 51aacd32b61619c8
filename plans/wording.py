"""The result of a plan told in words: one headline and one badge, from the same counts as every table."""

from __future__ import annotations

from typing import Any


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def terminals_phrase(cameras: int, face: int) -> str:
    """'5 cameras', or '5 cameras and 1 face-recognition terminal' when there are face terminals."""
    words = _count(cameras, "camera", "cameras")
    if face:
        words += " and " + _count(face, "face-recognition terminal", "face-recognition terminals")
    return words


def _uncoverable(infeasible: list[dict[str, Any]]) -> str:
    by_zone: dict[str, float] = {}
    for item in infeasible:
        by_zone[str(item.get("zone"))] = by_zone.get(str(item.get("zone")), 0.0) + float(item.get("area_m2", 0.0))
    parts = [f"{area:.1f} m² of {zone}" for zone, area in by_zone.items()]
    return (", ".join(parts[:-1]) + " and " + parts[-1]) if len(parts) > 1 else parts[0]


def proven(result: dict[str, Any] | None) -> bool:
    """Whether the certificate proves no plan with fewer cameras reaches the same target (bound meets the plan)."""
    if not result or result.get("objective") is None:
        return False
    status = result.get("status")
    return status == "OPTIMAL" or (status == "FEASIBLE" and int(result.get("bound") or 0) >= int(result["objective"]))


def headline(state: str, result: dict[str, Any] | None, counts: dict[str, int]) -> str:
    """One or two sentences: how many cameras instead of how many, whether that is proven, what stays unseen."""
    if state == "failed":
        return "The run failed; there is no plan."
    if not result or result.get("objective") is None:
        if state == "cancelled" or (result or {}).get("status") == "CANCELLED":
            return "Cancelled before a plan was found."
        if state in ("queued", "running"):
            return "The optimizer is still working."
        return "No plan was found within the time limit; run again with more time."
    after = terminals_phrase(counts["after_cameras"], counts["after_face"])
    before = terminals_phrase(counts["before_cameras"], counts["before_face"])
    lead = f"{after} instead of {before}"
    status = result.get("status")
    infeasible = result.get("infeasible") or []
    seen = "any allowed camera position" if result.get("mode") == "design" else "any installed camera"
    if state == "cancelled" or status == "CANCELLED":
        return (f"Cancelled: the best plan found so far uses {after} instead of {before}; "
                "it is not proven minimal and may leave required area unseen.")
    if status == "INCOMPLETE":
        unseen = float(result["coverable_unseen_m2"] if result.get("coverable_unseen_m2") is not None
                       else (result.get("uncovered_m2") or {}).get("total") or 0.0)
        where = f" (stopped in {result['stopped_in']})" if result.get("stopped_in") else ""
        return (f"Time ran out{where} before the plan covered every required area: {after} so far leave "
                f"{unseen:.1f} m² that cameras could see unseen. Run again with more time.")
    if proven(result) and not infeasible:
        return f"{lead}; no plan with fewer exists for these cameras (proven); every required area is covered."
    if proven(result):
        return (f"{lead}; proven minimal among plans that see everything coverable. {_uncoverable(infeasible)} "
                f"can't be seen by {seen} (shown in the map and listed).")
    bound = int(result.get("bound") or 0)
    proof = (f"not proven minimal: at least {_count(bound, 'camera is', 'cameras are')} needed, "
             f"so at most {int(result['objective']) - bound} could still be saved") if bound else \
        "not proven minimal: the solver found no useful lower bound in the time given"
    tail = "every required area is covered." if not infeasible else \
        f"{_uncoverable(infeasible)} can't be seen by {seen}."
    return f"{lead}; {proof}; {tail}"


def badge(state: str, result: dict[str, Any] | None) -> tuple[str, str]:
    """(css class, text) of the certificate badge, consistent with the headline."""
    status = (result or {}).get("status")
    if state != "done" or status in (None, "CANCELLED", "UNKNOWN"):
        return "warn", {"failed": "failed", "cancelled": "cancelled", "queued": "queued",
                        "running": "running"}.get(state, "no plan")
    if proven(result) and not (result or {}).get("infeasible"):
        return "good", "proven minimal"
    if proven(result):
        return "warn", "proven minimal; some area can't be seen"
    if status == "INCOMPLETE":
        return "bad", "incomplete"
    return "warn", "not proven minimal"
