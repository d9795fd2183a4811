"""Typed data models of every event type, one module per owning service, and the registry."""
