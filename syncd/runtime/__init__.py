"""Runtime: how syncd lives as a process, shared by the daemon, one-shot runs and the sandbox.

*Stop signals* (:mod:`syncd.runtime.signals`): SIGTERM and SIGINT asking a command to wind
down, and a second one ending it at once. A *threaded server*
(:mod:`syncd.runtime.serving`): an ASGI application served by uvicorn from a daemon thread on a
socket bound before it starts. *Resources* (:mod:`syncd.runtime.resources`): objects used in
``with`` blocks that start on entry and close on exit.
"""
