"""Readers that follow a growing ``.npy`` file: ``Reader`` and ``RaggedReader``."""

import time

from . import _native
from .ragged import RaggedArray

__all__ = ["RaggedReader", "Reader"]


class Reader(_native.Reader):
    """Reads a ``.npy`` file while a writer grows it.

    ``refresh()`` returns the items committed so far as a read-only array over a memory
    mapping (no copy): never a partial item, a shape that never shrinks, remapped as the file
    grows. ``follow(poll=0.1)`` yields each new block as it lands, starting with what was
    committed and not yet returned (by ``refresh()`` or an earlier ``follow()``). Works with writers in every mode (default, ``mapped``,
    ``buffer``); a writer with ``rewrite_header_on_append=False`` is seen as far as its header
    counts, and ``uncounted_items`` says how many items lie past that.
    """

    def follow(self, poll=0.1):
        """Yields each block of new items (a read-only array) as it lands, forever; sleeps
        ``poll`` seconds whenever there is none. Stop it by leaving the loop."""
        while True:
            block = self.next_block()
            if block is None:
                time.sleep(poll)
            else:
                yield block


class RaggedReader(_native._RaggedReader):
    """Reads a ragged pair (``RaggedAppendArray``) while a writer grows it, or as a crash
    left it, without repairing anything (read-only access is enough).

    ``refresh()`` returns a ``RaggedArray`` of the complete records so far; ``follow(poll=0.1)``
    yields each record (a read-only array view) as it is completed.
    """

    def refresh(self):
        """The complete records so far, as a ``RaggedArray`` over the files' mappings."""
        data, ends = self._refresh()
        return RaggedArray(data, ends, self.fortran_order)

    def follow(self, poll=0.1):
        """Yields each record (a read-only array) as it is completed, forever, starting with
        those completed and not yet returned; sleeps ``poll`` seconds whenever there is none."""
        while True:
            nxt = self._next_records()
            if nxt is None:
                time.sleep(poll)
                continue
            first, stop, data, ends = nxt
            records = RaggedArray(data, ends, self.fortran_order)
            for i in range(first, stop):
                yield records[i]
