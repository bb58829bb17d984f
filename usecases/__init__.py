"""Use cases: what the service does for a caller, whichever surface asked (the JSON API, the
dashboard). They sit above the domain service and the projections, and below ``api/``, which only
translates HTTP to them and their errors back (docs/ARCHITECTURE.md § 1)."""
