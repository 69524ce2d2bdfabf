"""The shared kernel: what every domain app builds on (actor context, restricted querysets, API and CLI bases)."""
