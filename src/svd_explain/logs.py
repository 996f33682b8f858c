"""Route a rule's Python logging, warnings and uncaught errors into its log file."""
import logging
import sys


def log_to(path):
    """Send logging (INFO and up), warnings and stderr of this process to `path`."""
    stream = open(path, "a", buffering=1, encoding="utf-8")
    sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=[logging.StreamHandler(stream)],
        force=True,
    )
    logging.captureWarnings(True)
    return stream
