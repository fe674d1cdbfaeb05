"""Where commands write: checked before the work starts, so a long run never ends on "cannot
write" (issue 24); and failures while writing name the path."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _nearest_existing(path: Path) -> Path:
    for parent in [path, *path.parents]:
        if parent.exists():
            return parent
    return Path(".")


def output_file(path: str | Path, flag: str) -> Path:
    """``path`` as a file this command may write, or a ValueError naming ``flag``: not a
    directory, under folders (existing or to be made) none of which is a file, writable."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a directory; give a file name (e.g. {path / 'out'}{path.suffix or ''})")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ValueError(f"{flag} {path} is not writable; give another path or fix its permissions")
        return path
    _check_folder(path.parent, flag, path)
    return path


def output_dir(path: str | Path, flag: str) -> Path:
    """``path`` as a directory this command may create and write into, or a ValueError
    naming ``flag``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file; give a directory (it is created if missing)")
    _check_folder(path, flag, path)
    return path


def _check_folder(folder: Path, flag: str, target: Path) -> None:
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ValueError(f"{flag} {target}: {existing} is a file, not a directory; give a path under a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {target}: cannot write in {existing} (permission denied); give another path")


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Name ``path`` on an OSError raised while it is written (a full disk reports none)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise
