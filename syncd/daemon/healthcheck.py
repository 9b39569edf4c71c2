"""``python -m syncd.daemon.healthcheck``: the container image's HEALTHCHECK, asking `syncd run`.

It reads the configuration as the daemon does (the file, ``${VAR}``, ``SYNCD_SERVER__PORT``),
so moving ``server.port`` in the configuration moves the check with it, and asks
``/healthz`` on that port (on ``server.internal_port`` when that is set). Exit status 0 when
the daemon answers 200; otherwise 1, with one line on stderr saying why (Docker keeps it in
the container's health log).

Usage: ``python -m syncd.daemon.healthcheck [CONFIG]`` (default: ``$SYNCD_CONFIG``, then
``./syncd.yaml``).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from syncd.config.loading import load_config
from syncd.errors import ConfigError

TIMEOUT = 4.0
# An address the daemon listens on for every interface is reached through loopback.
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def healthz_url(host: str, port: int) -> str:
    """The /healthz URL of a daemon listening on ``host``:``port``, seen from this host."""
    host = _LOOPBACK.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def check(config_path: str | None = None) -> str | None:
    """None when the daemon answers /healthz with 200, else why not."""
    try:
        config = load_config(config_path)
        config.require("server")
        server = config.server
    except ConfigError as exc:
        return str(exc).splitlines()[0]
    if server.internal_port is not None:  # /healthz moved to the internal listener
        url = healthz_url(server.internal_host or server.host, server.internal_port)
    else:
        url = healthz_url(server.host, server.port)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 - http only
            status = answer.status
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url}: {reason}"
    return None if status == 200 else f"{url} answered {status}"


def main(argv: list[str] | None = None) -> int:
    """Run the check; the process exit status."""
    args = sys.argv[1:] if argv is None else argv
    problem = check(args[0] if args else None)
    if problem is None:
        return 0
    print(f"syncd healthcheck: {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
