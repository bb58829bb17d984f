"""The HTTP API: a thin translation of HTTP into ledger commands and queries.

``api.app:create_app(settings, sealed_keys)`` builds the FastAPI application; ``disclosure-ledger
serve`` runs it (``api.cli``). docs/API.md lists every endpoint.
"""
