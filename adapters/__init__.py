"""Thin wrappers over the official clients, returning plain domain types."""
