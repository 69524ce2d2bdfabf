"""What a Kubernetes API server decides, as a library: Status errors (`errors`), structural schemas and the admission
of custom resources (`schema`), CRD validation rules in CEL (`cel`), and Crossplane's XRD-to-CRD derivation
(`xrds`).

The sandbox API server serves them; the platform package validator (`devplat crossplane validate`) and provisioning
(a request's parameters against its capability's schema) check against the same code, so what passes here passes the
cluster's own admission. Nothing here talks to a cluster or imports the sandbox.
"""
