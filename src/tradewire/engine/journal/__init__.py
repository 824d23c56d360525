"""The order journal: ``store`` (the file), ``record``, ``codec`` (event <-> record),
``replay`` (orders rebuilt from records) and ``sync`` (the fsync child process).

The store's public names are re-exported here, so ``from tradewire.engine.journal import
Journal`` keeps working.
"""

from tradewire.engine.journal.store import (
    MAGIC,
    Damage,
    Journal,
    ReadResult,
    Scan,
    read_journal,
    salvage,
    scan,
)

__all__ = ["MAGIC", "Damage", "Journal", "ReadResult", "Scan", "read_journal", "salvage", "scan"]
