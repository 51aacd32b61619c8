"""The managed list of districts: venues are placed in one, jurisdictions are sets of them.

A venue's district used to be free text matched exactly, so a stray case, an unknown name or a hidden NUL took
the venue out of every inspector's view. Now it is chosen from this list; `lookup` is the one place that turns
user input (English name, Chinese name or code, any case) into a District, and venue.district holds the
canonical English name under a foreign key, so no venue can hold a district the list lacks.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from extensions import db

# (code, English name, Chinese name): Shanghai's 16 districts, in the city's official order.
SHANGHAI_DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("huangpu", "Huangpu", "黄浦区"),
    ("xuhui", "Xuhui", "徐汇区"),
    ("changning", "Changning", "长宁区"),
    ("jingan", "Jing'an", "静安区"),
    ("putuo", "Putuo", "普陀区"),
    ("hongkou", "Hongkou", "虹口区"),
    ("yangpu", "Yangpu", "杨浦区"),
    ("minhang", "Minhang", "闵行区"),
    ("baoshan", "Baoshan", "宝山区"),
    ("jiading", "Jiading", "嘉定区"),
    ("pudong", "Pudong", "浦东新区"),
    ("jinshan", "Jinshan", "金山区"),
    ("songjiang", "Songjiang", "松江区"),
    ("qingpu", "Qingpu", "青浦区"),
    ("fengxian", "Fengxian", "奉贤区"),
    ("chongming", "Chongming", "崇明区"),
)

# Other spellings people type for the same district (matched after `match_key`).
ALIASES: dict[str, str] = {"pudong new area": "pudong", "pudongxinqu": "pudong", "jing an": "jingan"}


class District(db.Model):
    """One district of the managed list (English and Chinese names, a stable code)."""

    __tablename__ = "districts"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    code: so.Mapped[str] = so.mapped_column(sa.String(50), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    name_zh: so.Mapped[str] = so.mapped_column(sa.String(100), unique=True)
    position: so.Mapped[int] = so.mapped_column(default=0)

    def label(self, locale: str | None = None) -> str:
        """The district's name in the reader's language (Chinese names for zh locales)."""
        return self.name_zh if (locale or "").startswith("zh") else self.name


jurisdiction_districts = sa.Table(
    "jurisdiction_district",
    db.metadata,
    sa.Column("jurisdiction_id", sa.ForeignKey("jurisdiction.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("district_id", sa.ForeignKey("districts.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class DistrictMove(db.Model):
    """A venue moved from one district to another: both districts' inspectors see it (the venue's name kept)."""

    __tablename__ = "district_move"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    venue_id: so.Mapped[int] = so.mapped_column(index=True)
    organisation_id: so.Mapped[int] = so.mapped_column()
    venue_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    from_district: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    to_district: so.Mapped[str] = so.mapped_column(sa.String(100), index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    at: so.Mapped[datetime] = so.mapped_column(default=lambda: datetime.now(UTC).replace(tzinfo=None))

    user = so.relationship("User")


def match_key(value: str) -> str:
    """The comparison form of a typed district: trimmed, case-folded, inner spaces collapsed."""
    return " ".join(value.strip().casefold().split())


def _keys(district: District) -> set[str]:
    zh = district.name_zh
    return {district.code, match_key(district.name), zh, zh.removesuffix("区"), zh.removesuffix("新区"),
            match_key(district.name) + " district", match_key(district.name).replace("'", "")}


def all_districts() -> list[District]:
    """The managed list, in its display order (read once per request)."""
    from flask import g, has_app_context

    if has_app_context() and "districts" in g:
        return g.districts
    districts = list(db.session.scalars(sa.select(District).order_by(District.position, District.id)))
    if has_app_context():
        g.districts = districts
    return districts


def lookup(value: str) -> District | None:
    """The district a typed value names (code, English or Chinese name, any case), or None."""
    key = match_key(value)
    key = ALIASES.get(key, key)
    for district in all_districts():
        if key in _keys(district):
            return district
    return None


def district_options() -> list[tuple[str, str]]:
    """(stored value, label) pairs for the district select of venue forms."""
    return [(d.name, f"{d.name} · {d.name_zh}") for d in all_districts()]


def names_of(values: list[str]) -> list[District]:
    """Districts for a list of typed names; raises ValueError naming the first unknown one."""
    found = []
    for value in values:
        district = lookup(value)
        if district is None:
            raise ValueError(f"'{value}' is not a district of the managed list")
        found.append(district)
    return found
