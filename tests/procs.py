"""The processes of this machine as Linux /proc shows them, for tests that check what was started or left running."""

from pathlib import Path


def processes() -> dict[int, tuple[int, list[str]]]:
    """pid → (parent pid, command line split at its NULs), for every process still there while it is read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text(errors="replace").rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        found[int(entry.name)] = (parent, argv)
    return found
