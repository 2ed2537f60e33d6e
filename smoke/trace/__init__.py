"""Tracing: the smoke's requests carry a W3C trace context, web and chat send their
spans back, and a failure is blamed on the hop where the request broke."""
