"""The headline and badge of a plan in each certificate case (plans.wording), from the same counts as the tables."""

from __future__ import annotations

from plans.wording import badge, headline

COUNTS = {"before_cameras": 11, "after_cameras": 5, "before_face": 0, "after_face": 0}


def _result(status: str, *, bound: int = 5, infeasible: list | None = None, unseen: float = 0.0) -> dict:
    return {"status": status, "objective": 5, "bound": bound, "infeasible": infeasible or [], "mode": "reduce",
            "uncovered_m2": {"total": unseen}}


def test_proven_and_fully_covered():
    text = headline("done", _result("OPTIMAL"), COUNTS)
    assert text == ("5 cameras instead of 11 cameras; no plan with fewer exists for these cameras (proven); "
                    "every required area is covered.")
    assert badge("done", _result("OPTIMAL")) == ("good", "proven minimal")


def test_proven_with_uncoverable_area():
    result = _result("OPTIMAL", infeasible=[{"zone": "Storeroom", "k": 1, "area_m2": 12.34}], unseen=12.34)
    text = headline("done", result, COUNTS)
    assert text == ("5 cameras instead of 11 cameras; proven minimal among plans that see everything coverable. "
                    "12.3 m² of Storeroom can't be seen by any installed camera (shown in the map and listed).")
    css, words = badge("done", result)
    assert css != "good" and "can't be seen" in words  # never a green badge beside uncoverable area


def test_gap_open():
    text = headline("done", _result("FEASIBLE", bound=4), COUNTS)
    assert text == ("5 cameras instead of 11 cameras; not proven minimal: at least 4 cameras are needed, so at most "
                    "1 could still be saved; every required area is covered.")
    assert badge("done", _result("FEASIBLE", bound=4)) == ("warn", "not proven minimal")
    no_bound = headline("done", _result("FEASIBLE", bound=0), COUNTS)
    assert "no useful lower bound" in no_bound


def test_cancelled():
    assert headline("cancelled", _result("CANCELLED", bound=0), COUNTS).startswith(
        "Cancelled: the best plan found so far uses 5 cameras instead of 11 cameras; it is not proven minimal")
    assert headline("cancelled", None, COUNTS) == "Cancelled before a plan was found."
    assert badge("cancelled", None) == ("warn", "cancelled")


def test_face_terminals_are_counted_apart_and_incomplete_runs_say_so():
    counts = {"before_cameras": 5, "after_cameras": 3, "before_face": 1, "after_face": 0}
    assert headline("done", _result("OPTIMAL"), counts).startswith(
        "3 cameras instead of 5 cameras and 1 face-recognition terminal;")
    text = headline("done", _result("INCOMPLETE", bound=0, unseen=3.25), COUNTS)
    assert text == ("Time ran out before the plan covered every required area: 5 cameras so far leave 3.2 m² that "
                    "cameras could see unseen. Run again with more time.")
    # The engine's own figure for coverable area left unseen (excluding what no camera can see) wins when present.
    result = {**_result("INCOMPLETE", bound=0, unseen=9.0), "coverable_unseen_m2": 1.5, "stopped_in": "refinement"}
    assert headline("done", result, COUNTS).startswith(
        "Time ran out (stopped in refinement) before the plan covered every required area: 5 cameras so far leave "
        "1.5 m² that cameras could see unseen.")


def test_a_bound_that_meets_the_plan_is_a_proof_even_without_optimal_status():
    # With the slack model the status stays FEASIBLE, but a bound equal to the plan still proves minimality.
    result = _result("FEASIBLE", bound=5, infeasible=[{"zone": "Cash registers", "k": 1, "area_m2": 53.42}])
    assert headline("done", result, COUNTS).startswith(
        "5 cameras instead of 11 cameras; proven minimal among plans that see everything coverable. 53.4 m² of "
        "Cash registers can't be seen")
    assert badge("done", result) == ("warn", "proven minimal; some area can't be seen")


def test_area_given_up_by_the_mounts_is_not_called_unseeable():
    given_up = {"zone": "Hall", "k": 1, "area_m2": 4.0, "cause": "given_up"}
    uncoverable = {"zone": "Storeroom", "k": 1, "area_m2": 12.34, "cause": "uncoverable"}
    both = headline("done", _result("FEASIBLE", bound=4, infeasible=[uncoverable, given_up]), COUNTS)
    assert both.endswith("12.3 m² of Storeroom can't be seen by any installed camera. 4.0 m² of Hall stays unseen "
                         "only because each mount takes one pose and the poses that would see it are needed "
                         "elsewhere."), both
    only = headline("done", _result("FEASIBLE", bound=4, infeasible=[given_up]), COUNTS)
    assert "can't be seen" not in only and only.endswith("4.0 m² of Hall stays unseen only because each mount takes "
                                                         "one pose and the poses that would see it are needed "
                                                         "elsewhere."), only
    proven = headline("done", _result("FEASIBLE", bound=5, infeasible=[given_up]), COUNTS)
    assert proven.startswith("5 cameras instead of 11 cameras; proven minimal for the area the mounts can see "
                             "together. 4.0 m² of Hall stays unseen"), proven
