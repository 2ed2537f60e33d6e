"""The stack layer: python-on-whales and nothing else. Where the engine is, the
compose project and what the engine says about it, who owns it, and its removal."""
