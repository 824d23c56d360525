"""The I/O hosts around the synchronous engine core: the inline node and its helpers."""
