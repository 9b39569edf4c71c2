"""Sync: one run of one source, from listing through writes to deletions.

A *run* lists the source, decides what to fetch (:mod:`syncd.sync.listing`), fetches and renders
(:mod:`syncd.sync.fetching`), writes through a pool (:mod:`syncd.sync.writes`), removes what is
gone behind the safety stop (:mod:`syncd.sync.deletes`) and counts *outcomes*
(:mod:`syncd.sync.outcomes`); :mod:`syncd.sync.engine` drives it.
"""
