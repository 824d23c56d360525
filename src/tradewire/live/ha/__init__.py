"""High availability (issue 25): gateways in one group share a lease in a NATS JetStream
key-value bucket; the holder trades, the others stand by and follow its journal.

:mod:`~tradewire.live.ha.lease` is the sans-I/O state machine with the rules and the
safety argument; :mod:`~tradewire.live.ha.keeper` runs it against a real bucket;
:mod:`~tradewire.live.ha.replication` publishes the active's journal to a JetStream stream
and mirrors it on a standby.
"""
