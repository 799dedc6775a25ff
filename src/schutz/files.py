"""Files only Schutz's own account may read: keys, journals, anything that unlocks data."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_private(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write `text` to `path` in one step, mode 0600, synced to disk; True if it was written.

    The text goes to a file aside first, so a reader never sees half of it. With `replace`
    the new file takes the old one's place; without it an existing file wins and nothing is
    written (False): two processes creating a key at once agree on the first one's key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(tmp, path)
            return True
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
            return True
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)
