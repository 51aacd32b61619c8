"""Hand-authored demo floors in the floor format (planner.floor; metres, y up)."""

from __future__ import annotations

from typing import Any

from planner.floor import FORMAT

Point = tuple[float, float]

DOOR = 1.0  # door width in metres


def _line(*points: Point) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


class PlanBuilder:
    """Collects features for one floor; rooms get walls with door gaps and matching openings."""

    def __init__(self, name: str, width: float, depth: float) -> None:
        self.name = name
        self.features: list[dict[str, Any]] = [
            {"type": "Feature", "geometry": _rect(0, 0, width, depth), "properties": {"kind": "outline"}}]

    def wall(self, a: Point, b: Point, *, doors: tuple[float, ...] = (), see_through: bool = False) -> None:
        """A straight wall from a to b, with door gaps centred at the given distances from a along it."""
        length = ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
        at = 0.0
        for centre in sorted(doors):
            start, end = centre - DOOR / 2, centre + DOOR / 2
            if start > at:
                self._wall_piece((a[0] + ux * at, a[1] + uy * at), (a[0] + ux * start, a[1] + uy * start), see_through)
            self.features.append({"type": "Feature", "geometry": _line(
                (round(a[0] + ux * start, 3), round(a[1] + uy * start, 3)),
                (round(a[0] + ux * end, 3), round(a[1] + uy * end, 3))), "properties": {"kind": "opening"}})
            at = end
        if at < length:
            self._wall_piece((a[0] + ux * at, a[1] + uy * at), b, see_through)

    def _wall_piece(self, a: Point, b: Point, see_through: bool) -> None:
        properties: dict[str, Any] = {"kind": "wall"}
        if see_through:
            properties["see_through"] = True
        self.features.append({"type": "Feature", "geometry": _line(
            (round(a[0], 3), round(a[1], 3)), (round(b[0], 3), round(b[1], 3))), "properties": properties})

    def block(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """A solid obstacle (shelf, pillar, counter) as a polygon wall."""
        self.features.append({"type": "Feature", "geometry": _rect(x0, y0, x1, y1), "properties": {"kind": "wall"}})

    def zone(self, name: str, kind: str, box: tuple[float, float, float, float], *, use: str | None = None,
             k: int | None = None, tier: str | None = None) -> None:
        """A rectangular zone."""
        properties: dict[str, Any] = {"kind": "zone", "zone": kind, "name": name}
        if use:
            properties["use"] = use
        if k is not None:
            properties["k"] = k
        if tier:
            properties["tier"] = tier
        self.features.append({"type": "Feature", "geometry": _rect(*box), "properties": properties})

    def terminal(self, code: str, kind: str, at: Point, heading: float, hfov: float, **extra: Any) -> None:
        """A terminal; extra holds hpx or range_m and the optional properties."""
        properties = {"kind": "terminal", "id": code, "type": kind, "heading_deg": heading, "hfov_deg": hfov}
        properties.update(extra)
        self.features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": list(at)},
                              "properties": properties})

    def collection(self) -> dict[str, Any]:
        """The floor as a floor-format FeatureCollection."""
        return {"type": "FeatureCollection", "format": FORMAT, "name": self.name,
                "features": self.features}


CAM = {"hpx": 1920, "height_m": 2.8}


def hotel_floor() -> dict[str, Any]:
    """A hotel guest floor: 2×6 guest rooms off a corridor, a lift lobby and two public toilets."""
    p = PlanBuilder("Hotel level 3", 44.0, 18.0)
    # Guest-room doors are closed doors, so the corridor walls have no openings.
    p.wall((8, 7.5), (44, 7.5))
    p.wall((8, 10.5), (44, 10.5))
    for x in (14, 20, 26, 32, 38):  # party walls between guest rooms
        p.wall((x, 0), (x, 7.5))
        p.wall((x, 10.5), (x, 18))
    p.wall((8, 0), (8, 7.5))
    p.wall((8, 10.5), (8, 18))
    # The women's toilet has an open, doorless entrance; the men's has a closed door.
    p.wall((0, 5), (8, 5), doors=(6.5,))
    p.wall((0, 13), (8, 13))
    p.block(0.0, 7.0, 1.5, 11.0)  # lift shafts
    for i in range(6):
        x0 = 8 + 6 * i
        p.zone(f"Guest room 3{i + 1:02d}", "private", (x0, 0, x0 + 6, 7.5), use="guest_room")
        p.zone(f"Guest room 3{i + 7:02d}", "private", (x0, 10.5, x0 + 6, 18), use="guest_room")
    p.zone("Corridor", "required", (8, 7.5, 44, 10.5), use="corridor", tier="detect")
    p.zone("Lift lobby", "required", (1.5, 5, 8, 13), use="lift_lobby", tier="observe")
    p.zone("Public toilet (women)", "private", (0, 0, 8, 5), use="toilet")
    p.zone("Public toilet (men)", "private", (0, 13, 8, 18), use="toilet")
    p.terminal("C-301", "camera", (8.3, 9.0), 0, 60, **CAM, purpose="public_security", serial="HK-301")
    p.terminal("C-302", "camera", (43.7, 9.0), 180, 60, **CAM, purpose="public_security", serial="HK-302")
    p.terminal("C-303", "camera", (26.0, 10.3), 270, 90, **CAM, purpose="public_security", serial="HK-303")
    p.terminal("C-304", "camera", (1.5, 5.0), 45, 90, **CAM, purpose="public_security", serial="HK-304")
    # Aimed at the women's toilet entrance: it sees into a private room.
    p.terminal("C-305", "camera", (5.0, 11.0), 290, 70, **CAM, purpose="public_security", serial="HK-305")
    p.terminal("F-306", "face_terminal", (7.8, 9.0), 180, 60, range_m=3.0, height_m=1.5,
               face_recognition=True, purpose="guest_check_in", serial="FR-306")
    p.terminal("R-307", "access_reader", (2.0, 12.5), 270, 90, range_m=0.5, height_m=1.2, serial="AR-307")
    return p.collection()


WIDE = {"hpx": 2688, "height_m": 3.2}


def supermarket_floor() -> dict[str, Any]:
    """A supermarket: two entrances, a till line, shelving aisles, a storeroom, staff room and staff toilet."""
    p = PlanBuilder("Sales floor", 50.0, 32.0)
    p.wall((0, 24), (50, 24), doors=(10.0, 40.0))  # back wall of the sales floor
    p.wall((36, 24), (36, 32), doors=(5.0,))  # storeroom | staff room
    p.wall((42, 24), (42, 32), doors=(1.5,))  # staff room | staff corridor
    p.wall((42, 28), (50, 28), doors=(4.0,))  # the staff toilet's doorway has no door leaf
    for i in range(7):  # tall shelving blocks sight; the low till counters do not
        p.block(6 + 5 * i, 10.0, 7.2 + 5 * i, 21.0)
    p.zone("Entrance west", "required", (0, 0, 5, 6), use="entrance", tier="recognise")
    p.zone("Entrance east", "required", (45, 0, 50, 6), use="entrance", tier="recognise")
    p.zone("Cash registers", "required", (5, 3, 30, 8), use="cash_register", tier="observe")
    p.zone("Aisles", "general", (5, 9, 45, 22), use="aisle")
    p.zone("Storeroom", "required", (0, 24, 36, 32), use="storage", tier="observe")
    p.zone("Staff room", "general", (36, 24, 42, 32), use="staff_rest_room")
    p.zone("Staff toilet", "private", (42, 28, 50, 32), use="toilet")
    p.zone("Staff corridor", "general", (42, 24, 50, 28), use="corridor")
    p.terminal("C-01", "camera", (0.0, 0.0), 45, 90, **WIDE, purpose="public_security", serial="SM-C01")
    p.terminal("C-02", "camera", (50.0, 0.0), 135, 90, **WIDE, purpose="public_security", serial="SM-C02")
    p.terminal("C-03", "camera", (5.0, 3.0), 45, 90, **WIDE, purpose="public_security", serial="SM-C03")
    p.terminal("C-04", "camera", (30.0, 3.0), 135, 90, **WIDE, purpose="public_security", serial="SM-C04")
    p.terminal("C-05", "camera", (17.5, 2.0), 90, 110, **CAM, purpose="public_security", serial="SM-C05")
    for i, x in enumerate((5.0, 20.0, 35.0)):
        p.terminal(f"C-1{i}", "camera", (x, 23.7), 270, 90, **CAM, purpose="loss_prevention", serial=f"SM-C1{i}")
    p.terminal("C-20", "camera", (0.0, 32.0), 315, 90, **WIDE, purpose="public_security", serial="SM-C20")
    p.terminal("C-21", "camera", (36.0, 24.0), 135, 90, **WIDE, purpose="public_security", serial="SM-C21")
    # Staff-corridor camera aimed at the staff toilet's open doorway.
    p.terminal("C-22", "camera", (42.3, 24.3), 60, 70, **CAM, purpose="public_security", serial="SM-C22")
    p.terminal("F-01", "face_terminal", (2.5, 0.3), 90, 70, hpx=1280, height_m=2.2, face_recognition=True,
               purpose="marketing", serial="SM-F01")
    p.terminal("F-02", "face_terminal", (47.5, 0.3), 90, 70, hpx=1280, height_m=2.2, face_recognition=True,
               purpose="membership", serial="SM-F02")
    return p.collection()


def pool_floor() -> dict[str, Any]:
    """A swimming pool: reception with turnstiles, changing rooms, showers, a poolside corridor and the deck."""
    p = PlanBuilder("Ground floor", 40.0, 30.0)
    # Changing rooms have closed doors; the showers open onto the poolside corridor through doorless entrances.
    p.wall((0, 8), (16, 8))
    p.wall((8, 8), (8, 24))
    p.wall((0, 20), (16, 20))
    p.wall((0, 24), (16, 24), doors=(4.0, 12.0))
    p.wall((16, 0), (16, 30), doors=(4.0, 27.0))
    p.zone("Reception and turnstiles", "required", (0, 0, 16, 8), use="reception", tier="observe")
    p.zone("Men's changing room", "private", (0, 8, 8, 20), use="changing_room")
    p.zone("Women's changing room", "private", (8, 8, 16, 20), use="changing_room")
    p.zone("Men's showers", "private", (0, 20, 8, 24), use="shower")
    p.zone("Women's showers", "private", (8, 20, 16, 24), use="shower")
    p.zone("Poolside corridor", "required", (0, 24, 16, 30), use="corridor", tier="observe")
    p.zone("Pool deck", "required", (16, 0, 40, 30), use="pool_deck", tier="observe")
    p.terminal("C-1", "camera", (0.0, 0.0), 45, 90, **WIDE, purpose="public_security", serial="BW-C1")
    p.terminal("C-2", "camera", (16.0, 0.0), 135, 90, **WIDE, purpose="public_security", serial="BW-C2")
    p.terminal("C-3", "camera", (16.0, 0.0), 45, 90, **WIDE, purpose="public_security", serial="BW-C3")
    p.terminal("C-4", "camera", (40.0, 30.0), 225, 90, **WIDE, purpose="public_security", serial="BW-C4")
    p.terminal("C-5", "camera", (40.0, 0.0), 135, 90, **WIDE, purpose="public_security", serial="BW-C5")
    # Corridor camera that also looks through the shower entrances: it sees into private rooms.
    p.terminal("C-6", "camera", (0.0, 30.0), 315, 90, **WIDE, purpose="public_security", serial="BW-C6")
    p.terminal("C-9", "camera", (16.0, 24.0), 135, 90, **WIDE, purpose="public_security", serial="BW-C9")
    p.terminal("C-8", "camera", (16.0, 30.0), 315, 90, **WIDE, purpose="public_security", serial="BW-C8")
    p.terminal("C-7", "camera", (4.0, 1.0), 90, 60, **CAM, purpose="public_security", serial="BW-C7")
    p.terminal("F-1", "face_terminal", (6.0, 2.0), 90, 60, range_m=2.0, height_m=1.5, face_recognition=True,
               purpose="membership", serial="BW-F1")
    p.terminal("F-2", "face_terminal", (10.0, 2.0), 90, 60, range_m=2.0, height_m=1.5, face_recognition=True,
               purpose="membership", serial="BW-F2")
    # Face-recognition lockers inside the women's changing room: the Songjiang case.
    p.terminal("F-L1", "face_terminal", (15.5, 14.0), 180, 60, range_m=1.0, height_m=1.4, face_recognition=True,
               purpose="locker_opening", serial="BW-FL1")
    p.terminal("R-1", "access_reader", (12.0, 7.7), 270, 90, range_m=0.3, height_m=1.1, serial="BW-R1")
    return p.collection()
