"""Files that readers may open while they are written."""

import json
import os


def write_json(path, data):
    """Writes `data` as JSON atomically: readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves the old file, and no litter
