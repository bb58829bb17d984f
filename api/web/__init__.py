"""The oversight dashboard in the browser: server-rendered pages over the same service.

``api.web.routes.router`` holds every page (one module per question) and its static files; what the
pages share, the preamble included, is ``api.web.pages``; sessions are API tokens bound to a
principal and role (``api.web.session``); reads come from the projections (``api.web.data``).
"""
