"""The sandbox: a Kubernetes API server emulator for tests, benchmarks and demos (see docs/architecture/sandbox.md)."""
