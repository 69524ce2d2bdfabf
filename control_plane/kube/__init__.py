"""The Kubernetes boundary: the only package that imports `kubernetes`. See docs/architecture/overview.md."""
