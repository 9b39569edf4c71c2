"""Talking HTTP to the outside world, for the publisher and the connectors alike.

:mod:`~syncd.net.http` builds the one kind of client (every request bounded by a deadline and
interruptible by a stop, :mod:`~syncd.net.deadline`); :mod:`~syncd.net.retry` is the one retry
loop (a policy of attempts and total time, Retry-After honoured within it);
:mod:`~syncd.net.plaintext` refuses secrets over plain ``http://``.
"""
