"""Confluence space exports: the HTML export (a folder or zip of rendered pages)."""
