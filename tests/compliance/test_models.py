"""Stored findings and the per-venue open counts other pages read."""

from __future__ import annotations

from accounts.models import Organisation
from compliance import rules
from compliance.models import Finding
from compliance.service import open_finding_counts
from extensions import db
from inventory.choices import ComplianceProfile
from inventory.models import Venue


def test_profiles_match_the_rules_file():
    assert ComplianceProfile.values() == list(rules.PROFILES)


def test_open_counts_per_venue_and_severity(app):
    with app.app_context():
        org = Organisation(name="Org")
        db.session.add(org)
        db.session.flush()
        a, b, c = (Venue(organisation_id=org.id, name=n, type="hotel", district="Huangpu") for n in "abc")
        db.session.add_all([a, b, c])
        db.session.flush()
        for venue, severity, status in ((a, "prohibited", "open"), (a, "prohibited", "open"), (a, "must", "open"),
                                        (a, "should", "fixed"), (a, "must", "accepted"), (b, "should", "open")):
            db.session.add(Finding(venue_id=venue.id, rule_id="CN-03", key=f"k{status}", severity=severity,
                                   status=status, subject="C-1", message="m"))
        db.session.flush()
        assert a.compliance_profile == ComplianceProfile.CN
        counts = open_finding_counts([a.id, b.id, c.id])
        assert counts == {a.id: {"prohibited": 2, "must": 1, "should": 0},
                          b.id: {"prohibited": 0, "must": 0, "should": 1},
                          c.id: {"prohibited": 0, "must": 0, "should": 0}}
        assert open_finding_counts([]) == {}
