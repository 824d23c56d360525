"""Process-level latency tuning: placement, scheduling, memory, GC and busy polling."""
