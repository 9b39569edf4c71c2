"""Publishing to Intercom's Fin Content Library through the AI Content API.

Vocabulary:

content import source
    Intercom's container for pages from one place; syncd creates one per configured source,
    with ``sync_behavior: api``, identified by its integer id and its URL.

external page
    One page in the Content Library, identified by Intercom's page id (a string) and, for
    upserts, by the pair (source id, external id). ``POST /ai/external_pages`` creates or
    updates it; ``DELETE /ai/external_pages/{id}`` removes it.

The engine builds one :class:`Publisher` per run and calls it from many threads.
"""

from syncd.publisher.client import Publisher
from syncd.publisher.models import PageRejected, RemotePage, RequestInterrupted, RequestRejected

__all__ = ["PageRejected", "Publisher", "RemotePage", "RequestInterrupted", "RequestRejected"]
