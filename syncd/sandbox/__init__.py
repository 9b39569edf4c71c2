"""A local stand-in for Intercom's AI Content API, served over real HTTP.

``syncd sandbox`` runs it so syncd can be tried without an Intercom account, and the test
suite runs it on 127.0.0.1 as the publisher's counterpart. It keeps content import sources and
external pages in memory (:class:`SandboxStore`), validates requests as the 2.14 spec
describes, enforces Intercom's rate limit in fixed 10-second windows, and can inject faults
(5xx answers, extra 429s, dropped connections, latency) through :class:`SandboxSettings`.
"""

from syncd.sandbox.server import SandboxServer, serve
from syncd.sandbox.settings import SandboxSettings
from syncd.sandbox.store import SandboxStore

__all__ = ["SandboxServer", "SandboxSettings", "SandboxStore", "serve"]
