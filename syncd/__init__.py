"""syncd keeps Intercom's Fin Content Library equal to a company's private knowledge sources."""

__version__ = "0.1.0"
