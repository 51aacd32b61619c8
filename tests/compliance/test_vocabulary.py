"""The room-use vocabulary: labels from real plans map to private uses; templates per venue type."""

import pytest

from compliance import vocabulary


@pytest.mark.parametrize(("label", "use"), [
    ("Men's WC", "toilet"), ("WC", "toilet"), ("WC 2", "toilet"), ("Toilettes", "toilet"), ("Damen-WC", "toilet"),
    ("女卫生间", "toilet"), ("男WC", "toilet"), ("更衣室 A", "changing_room"), ("Umkleideraum", "changing_room"),
    ("Showers", "shower"), ("淋浴间", "shower"), ("Mothers Room", "nursing_room"), ("母婴室", "nursing_room"),
    ("Guest room 305", "guest_room"), ("客房", "guest_room"), ("Fitting rooms", "fitting_room"),
])
def test_private_labels(label: str, use: str) -> None:
    assert vocabulary.private_use_for_label(label) == use


@pytest.mark.parametrize("label", ["Office 2.01", "Swc", "Towel store", "Lobby", "大堂", "", None, "Showcase"])
def test_public_labels(label: str | None) -> None:
    assert vocabulary.private_use_for_label(label) is None


def test_always_private_is_a_subset_of_private() -> None:
    assert set(vocabulary.always_private_uses()) <= set(vocabulary.private_uses())
    assert {"toilet", "shower", "changing_room", "guest_room"} <= set(vocabulary.always_private_uses())


def test_templates_per_venue_type() -> None:
    hotel = vocabulary.zone_templates("hotel")
    assert hotel["guest_room"] == ("private", 1, "observe")
    assert hotel["entrance"] == ("required", 1, "recognise")  # from the common set
    assert "entrance" not in vocabulary.zone_templates("public_restroom")
    assert vocabulary.zone_templates("no-such-type") == vocabulary.zone_templates("other")
    for venue_type in ("hotel", "mall", "pool_fitness", "bank"):
        for use, (kind, _, _) in vocabulary.zone_templates(venue_type).items():
            if use in vocabulary.always_private_uses():
                assert kind == "private", (venue_type, use)


@pytest.mark.parametrize(("use", "group"), [("toilet", "PRIVATE"), ("guest_room", "PRIVATE"),
                                            ("nursing_room", "PRIVATE_EXT"), ("corridor", None), (None, None)])
def test_private_group(use: str | None, group: str | None) -> None:
    assert vocabulary.private_group(use) == group
