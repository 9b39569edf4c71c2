"""Rendering: from a connector's document to the HTML Intercom gets.

Shared by every connector: :mod:`syncd.render.cmark` (GitHub-flavoured Markdown),
:mod:`syncd.render.sanitize` (the HTML allow-list) and :mod:`syncd.render.content` (the
*payload*, the exact fields sent to Intercom, and its content hash).
"""
