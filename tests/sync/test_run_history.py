"""Run history stays bounded per source, pruned as each run is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from syncd.sandbox import SandboxServer
from syncd.state import database
from syncd.state.models import Run
from syncd.state.tracker import Tracker
from tests.cli.test_cli_sync import make_site, sandbox, syncd, write_config

__all__ = ["sandbox"]  # the fixture, imported for the test below


def test_tracker_keeps_the_newest_runs_of_each_source(state_url: str) -> None:
    """Opening a run deletes all but the newest ``keep`` runs of its source, not of others."""
    engine, sessions = database.open_database(state_url)
    try:
        docs, wiki = Tracker(sessions, "docs"), Tracker(sessions, "wiki")
        for _ in range(3):
            wiki.start_run(full_resync=False, holder=None, keep=10)
        opened = [docs.start_run(full_resync=False, holder=None, keep=4) for _ in range(9)]
        with engine.connect() as connection:
            kept = connection.execute(
                sa.select(Run.id).where(Run.source_id == docs.source_pk).order_by(Run.id)
            ).scalars()
            assert list(kept) == opened[-4:]
            others = connection.execute(
                sa.select(sa.func.count()).where(Run.source_id == wiki.source_pk)
            ).scalar_one()
            assert others == 3
    finally:
        engine.dispose()


def test_run_history_setting_bounds_the_runs_of_syncd_sync(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """With state.run_history: 2, four syncs leave the two newest runs; status still reads."""
    make_site(tmp_path / "site", 2)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    config = write_config(tmp_path, sandbox, url)
    data = json.loads(config.read_text(encoding="utf-8"))
    data["state"]["run_history"] = 2
    config.write_text(json.dumps(data), encoding="utf-8")
    for _ in range(4):
        assert syncd(config, "sync").returncode == 0
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        statuses = connection.execute(sa.select(Run.status).order_by(Run.id)).scalars().all()
    engine.dispose()
    assert statuses == ["ok", "ok"]
    status = syncd(config, "status", "--json")
    assert json.loads(status.stdout)[0]["last_run"]["status"] == "ok"
