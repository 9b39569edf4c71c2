"""The daemon behind `syncd run`: the scheduler, its ticks, the HTTP server and change triggers.

A *tick* is one scheduled firing of a source's run (:mod:`syncd.daemon.ticks`); a *trigger* is
anything that asks for a run between ticks (:mod:`syncd.daemon.triggers`); the *server* answers
liveness, readiness, metrics and hooks (:mod:`syncd.daemon.server`).
"""
