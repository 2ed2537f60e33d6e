"""Contoso chat: answers product questions from a catalog kept in PostgreSQL."""
