"""The ``confluence`` connector: a live Confluence site, Cloud or Data Center, read over REST."""
