"""Change triggers: what makes `syncd run` sync a source between its scheduled ticks.

trigger
    Something that notices a change at a source and asks the daemon for a run of it: a
    watched folder's file-system events (:mod:`syncd.daemon.triggers.watch`), a cheap question
    polled every few seconds (:mod:`syncd.daemon.triggers.poll`), or a call of
    ``POST /hooks/<source>`` (:mod:`syncd.daemon.triggers.hooks`). The schedule
    stays the safety net: its full runs catch whatever a trigger missed.

run request
    What a trigger hands the daemon: a :class:`~syncd.connectors.base.ChangeSet` naming the
    documents that changed (an *incremental run* syncs just those), or "everything" (a full
    run, as at a tick).

coalescing
    A source never runs twice at once. Requests that arrive while it runs are merged into one
    follow-up run (:class:`~syncd.daemon.triggers.gate.RunGate`), so a burst of changes costs at
    most the run in flight plus one more.
"""
