"""Alembic environment and versions: every schema change is a migration here."""
