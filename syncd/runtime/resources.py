"""Resources: the ``with`` protocol written once for everything that must be released.

A *closing* resource is ready once built and releases what it holds in ``close()``; a *running*
resource starts serving or holding something in ``start()`` and releases it in ``stop()``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """``with x:`` returns ``x`` and calls ``x.close()`` on the way out, however it is left."""

    def close(self) -> None:
        """Release what this object holds; calling it twice is harmless."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Running:
    """``with x:`` calls ``x.start()``, returns ``x``, and calls ``x.stop()`` on the way out."""

    def start(self) -> None:
        """Begin serving or holding."""

    def stop(self) -> None:
        """End serving or holding; calling it twice, or before ``start``, is harmless."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
