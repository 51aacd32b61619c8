"""Administration pages: users, organisations, jurisdictions and the full audit trail (admins only)."""
