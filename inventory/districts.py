"""Moved to accounts.districts (districts sit below inventory: jurisdictions use them too); kept as an alias
for code written against the first landing."""

from accounts.districts import (  # noqa: F401
    District,
    DistrictMove,
    all_districts,
    district_options,
    jurisdiction_districts,
    lookup,
    names_of,
)
