"""Markdown folders: files with optional front matter, rendered with cmark-gfm."""
