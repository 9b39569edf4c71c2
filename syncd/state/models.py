"""State database models: what syncd remembers between runs.

source
    A configured source by name, with the id of the Content Import Source that syncd created
    (or adopted) for it in Intercom, the URL and status last applied there, and the listing
    fingerprint of its last run that handled every document (see
    :mod:`syncd.connectors.base`), if its connector gives one.

document
    One document syncd has seen at a source, keyed by its ref id. It carries the external id
    it was published under, the version listed when it was last handled, the hash of the
    payload last written, the Intercom page id (needed to delete it), and the last error.
    A row with an error is fetched again on the next run whatever its version, unless the
    failure was final for that version (``failed_version``: a page too large).

run
    One run of one source: when, how it ended, how many documents went which way, and how
    many pages it removed for which reason. An *incremental* run synced only the documents a
    change trigger named.

freshness sample
    For one document written in Intercom, the seconds from its change at the source to the
    write (see :mod:`syncd.state.freshness`); the last :data:`FRESHNESS_KEPT` per source are kept.

connector memory
    Small values a source's connector keeps between runs (a git source's renamed files and
    the tree it last listed; see :class:`syncd.connectors.base.Memory`), by key. They are kept
    here rather than in the cache folder because losing them would turn renames into deletes.

lease
    Who runs a source right now, until when. Only the holder of an unexpired lease writes.

Timestamps are stored as UTC; :class:`UTCDateTime` hands them back timezone-aware on every
database, since SQLite has no time zones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

FRESHNESS_KEPT = 1000


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A DateTime that is always stored as naive UTC and read back aware in UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.replace(tzinfo=dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with explicit constraint names, so migrations are portable."""

    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A configured source and the Intercom Content Import Source that mirrors it."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    intercom_source_id: Mapped[int | None] = mapped_column(BigInteger)
    url: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str | None] = mapped_column(String(16))
    listing_fingerprint: Mapped[str | None] = mapped_column(String(255))
    # The content.CONVERTER_VERSION of the last run that rendered every document again.
    converter_version: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentState(Base):
    """What syncd last did with one document of one source."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("source_id", "ref_id", name="uq_documents_source_ref"),
        Index("ix_documents_source_external", "source_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    ref_id: Mapped[str] = mapped_column(String(1024))
    external_id: Mapped[str | None] = mapped_column(String(1024))
    version: Mapped[str | None] = mapped_column(String(255))
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    intercom_page_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(1024))
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    last_written_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # The version whose failure is final (too large): not fetched again until it changes.
    failed_version: Mapped[str | None] = mapped_column(String(255))


class Run(Base):
    """One run of one source, with its outcome and counts."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="running")
    full_resync: Mapped[bool] = mapped_column(Boolean, default=False)
    incremental: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # Let past the safety stop by --allow-mass-delete: its deletions end the window the stop
    # counts (syncd.sync.deletes).
    mass_delete_allowed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    listed: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    excluded: Mapped[int] = mapped_column(Integer, default=0)
    restored: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Pages removed, by reason ({"gone": 2, "excluded: draft": 1}); see syncd.sync.deletes.
    deletions: Mapped[dict[str, int] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    holder: Mapped[str | None] = mapped_column(String(255))


class FreshnessSample(Base):
    """Seconds from one document's change at its source to its write in Intercom."""

    __tablename__ = "freshness"
    __table_args__ = (Index("ix_freshness_source_id", "source_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    seconds: Mapped[float] = mapped_column(Float)


class ConnectorMemory(Base):
    """One value a source's connector keeps between runs."""

    __tablename__ = "connector_memory"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    """The right to run one source, held by one process until it expires."""

    __tablename__ = "leases"

    source_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
