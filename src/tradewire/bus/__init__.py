"""Transports between the gateway and its workers: shared memory on one machine, NATS across."""
