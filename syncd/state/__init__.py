"""State: what syncd remembers between runs, in SQLite or PostgreSQL.

The *tracker* (:mod:`syncd.state.tracker`) holds what was published per source; *leases* and
*locks* keep one run per source at a time across processes and replicas; *freshness* measures
how long a change takes to reach Intercom.
"""
