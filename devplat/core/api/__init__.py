"""The API base every app's API builds on: restricted viewsets, cursor pagination, problem+json errors."""
