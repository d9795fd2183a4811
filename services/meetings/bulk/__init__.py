"""Bulk generation and loading of a whole province (units, members, monitors)."""
