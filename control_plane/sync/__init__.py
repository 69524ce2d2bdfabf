"""The sync operator: Kubernetes and Crossplane state into PostgreSQL, following client-go's reflector."""
