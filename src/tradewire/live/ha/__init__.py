"""High availability: gateways in one group share a lease in a NATS JetStream key-value
bucket; the holder trades, the others stand by (issue 25).

:mod:`~tradewire.live.ha.lease` is the sans-I/O state machine with the rules and the
safety argument; :mod:`~tradewire.live.ha.keeper` runs it against a real bucket.
"""
