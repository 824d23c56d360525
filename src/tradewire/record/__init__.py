"""``tradewire record``: capture a Polygon feed to disk, frame by frame, for replay and backtest.

The format (:mod:`.format`, :mod:`.manifest`) is sans-I/O; :mod:`.writer` and :mod:`.reader`
do the file I/O; :mod:`.cli` connects the feed to the writer.
"""

from tradewire.record.format import FORMAT_VERSION, RecordingCorrupt
from tradewire.record.reader import ReadReport, iter_frames

__all__ = ["FORMAT_VERSION", "ReadReport", "RecordingCorrupt", "iter_frames"]
