"""Connectors: one module per kind of source, each implementing :mod:`connectors.base`."""
