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

# --- runtime: the virtualenv, tini, git (for git sources) and an unprivileged user ---------
FROM ${PYTHON_IMAGE} AS runtime

# Debian stable ships only security fixes; pinning the exact revision would break the build
# each time one lands, for no gain in reproducibility that matters for a tiny init process.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tini git openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 syncd \
    && useradd --system --uid 10001 --gid syncd --home-dir /var/lib/syncd --create-home \
        --shell /usr/sbin/nologin syncd

COPY --from=builder /opt/syncd /opt/syncd

# The configuration is mounted read-only; SYNCD_STATE_DIR puts a relative SQLite state.url
# (the default sqlite:///syncd.db included) in the writable volume instead of beside it.
ENV PATH=/opt/syncd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SYNCD_CONFIG=/etc/syncd/syncd.yaml \
    SYNCD_STATE_DIR=/var/lib/syncd

# SQLite state lives here (/var/lib/syncd/syncd.db by default); mount a volume.
WORKDIR /var/lib/syncd
VOLUME ["/var/lib/syncd"]

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

EXPOSE 9100

# No curl in the slim image: syncd asks /healthz on server.port as `syncd run` reads it (the
# configuration file, ${VAR}, SYNCD_SERVER__PORT). A container running `syncd sync` instead
# of `run` serves nothing; disable this check there (--no-healthcheck).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "syncd.daemon.healthcheck"]

# tini as PID 1 forwards SIGTERM to syncd and reaps zombies.
ENTRYPOINT ["tini", "--", "syncd"]
CMD ["run"]
