"""Technicians: who they are, their skills and home base (table in dispatch.models)."""
