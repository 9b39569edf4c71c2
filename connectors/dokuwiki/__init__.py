"""The ``dokuwiki`` connector: pages of a private DokuWiki, read through its remote API."""
