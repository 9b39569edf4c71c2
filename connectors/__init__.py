"""Connectors: one module per kind of source, each implementing :mod:`syncd.connectors.base`."""
