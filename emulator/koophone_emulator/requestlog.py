"""A bounded, numbered record of every API request, for tests and benchmarks to inspect."""

import itertools
import threading
from collections import deque

MAX_RECORDS = 500000


class RequestLog:
    def __init__(self, limit=MAX_RECORDS):
        self.lock = threading.Lock()
        self.records = deque(maxlen=limit)
        self.counter = itertools.count(1)

    def add(self, record):
        with self.lock:
            record["seq"] = next(self.counter)
            self.records.append(record)

    def since(self, seq=0, operation=None):
        with self.lock:
            if not self.records:
                return []
            # Sequence numbers are consecutive, so the first wanted record's index is arithmetic.
            start = max(0, seq - self.records[0]["seq"] + 1)
            chosen = list(itertools.islice(self.records, start, None))
        if operation:
            chosen = [record for record in chosen if record["operation"] == operation]
        return chosen

    def clear(self):
        # Numbering continues, so a client's "since" from before the clear stays meaningful.
        with self.lock:
            self.records.clear()
