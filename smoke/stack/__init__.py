"""The stack layer, through python-on-whales: where the engine is, the compose project
and what the engine says about it, its logs, who owns it, and its removal."""
