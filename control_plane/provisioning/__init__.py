"""Self-service provisioning: the write path developer -> devplat -> Kubernetes API -> Crossplane.

`services.capability_request` is the one way in, behind the CLI, the API and the admin: it checks the parameters
against the capability's schema (`parameters`), evaluates the admission policies (governance), renders the
composite into the requesting team's namespace (`render`), server-side applies it as field manager `devplat`, and
records a `ProvisioningRequest` with an audit event in the same transaction. A request that depends on others waits
(`dependencies`) until they are Ready and their connection secrets exist; the Celery tasks advance it.

Layout: `catalog` (which capabilities a request may name, and where they are offered), `parameters`, `render`,
`dependencies`, `cluster` (the Kubernetes calls), `services` (the writes) and `views` (how a request is shown).
"""
