"""The one error a backup or restore raises: its message is safe to print and names no person."""

from schutz.errors import SchutzError


class BackupError(SchutzError):
    """A backup could not be written or a backup file cannot be restored; nothing was changed
    unless the message says otherwise."""
