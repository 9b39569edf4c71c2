# syncd: a container for `syncd run` (the default) and one-shot `syncd sync` runs.
#
#   docker build -t syncd .
#   docker run --rm -e INTERCOM_ACCESS_TOKEN -p 9100:9100 \
#     -v "$PWD/syncd.yaml:/etc/syncd/syncd.yaml:ro" -v syncd-state:/var/lib/syncd syncd
#
# The daemon finishes the document in flight on SIGTERM within 30 s: stop it with
# `docker stop --time 40` (Docker's default of 10 s may cut a write short).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the project's wheel, installed with its pinned dependencies into a virtualenv -
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY connectors ./connectors
COPY migrations ./migrations
COPY syncd ./syncd

RUN pip wheel --no-deps --wheel-dir /dist . \
    && python -m venv /opt/syncd \
    && /opt/syncd/bin/pip install --constraint constraints.txt /dist/*.whl

# --- runtime: the virtualenv, tini and an unprivileged user; no compiler, no pip cache ------
FROM ${PYTHON_IMAGE} AS runtime

# Debian stable ships only security fixes; pinning the exact revision would break the build
# each time one lands, for no gain in reproducibility that matters for a tiny init process.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 syncd \
    && useradd --system --uid 10001 --gid syncd --home-dir /var/lib/syncd --create-home \
        --shell /usr/sbin/nologin syncd

COPY --from=builder /opt/syncd /opt/syncd

ENV PATH=/opt/syncd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNCD_CONFIG=/etc/syncd/syncd.yaml

# SQLite state lives here (state.url: sqlite:////var/lib/syncd/syncd.db); mount a volume.
WORKDIR /var/lib/syncd
VOLUME ["/var/lib/syncd"]

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 9100

# No curl in the slim image: Python asks /healthz (port from SYNCD_SERVER__PORT, if set).
# A container running `syncd sync` instead of `run` serves nothing; disable this check there.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SYNCD_SERVER__PORT', '9100') + '/healthz', timeout=4)"]

# tini as PID 1 forwards SIGTERM to syncd and reaps zombies.
ENTRYPOINT ["tini", "--", "syncd"]
CMD ["run"]
