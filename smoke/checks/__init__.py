"""The checks layer: what is asked of a running stack, over HTTP and in a browser."""
