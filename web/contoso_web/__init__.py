"""Contoso web: the page people use, and a proxy to the chat service."""
