#!/usr/bin/env python3
"""Backup manifests for tests: write one as opsctl would, checksum and copy.

  manifest.py seal PATH [--no-copy]   re-checksum PATH after an edit and write
                                      PATH.copy beside it (unless --no-copy)
  manifest.py check PATH              exit 0 when PATH's checksum holds

The checksum is the SHA-256 of the file as written with the checksum's own
64 digits read as zeros (opsctl-backup(1), MANIFEST); sed and sha256sum
check it by hand the same way.
"""
import hashlib
import json
import sys

ZEROS = "0" * 64


def seal_text(m):
    m = dict(m)
    m.pop("checksum", None)
    m["checksum"] = ZEROS
    text = json.dumps(m, indent="\t") + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    i = text.rindex(ZEROS)
    return text[:i] + digest + text[i + 64:]


def check(text):
    want = json.loads(text).get("checksum", "")
    if len(want) != 64 or text.count(want) != 1:
        return False
    return hashlib.sha256(text.replace(want, ZEROS).encode()).hexdigest() == want


def main(argv):
    if len(argv) >= 2 and argv[0] == "seal":
        text = seal_text(json.load(open(argv[1])))
        open(argv[1], "w").write(text)
        if "--no-copy" not in argv:
            open(argv[1] + ".copy", "w").write(text)
        return 0
    if len(argv) == 2 and argv[0] == "check":
        return 0 if check(open(argv[1]).read()) else 1
    sys.stderr.write(__doc__)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
