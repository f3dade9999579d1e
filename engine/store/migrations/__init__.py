"""Alembic migrations of the callqa database (see ``engine.store.migrate``)."""
