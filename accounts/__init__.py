"""Accounts: organisations, jurisdictions, users, roles and API tokens."""
