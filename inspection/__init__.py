"""Inspector verification: risk-sorted venues, on-site checklists, evidence, independent verification, sign-off."""
