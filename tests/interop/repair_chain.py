#!/usr/bin/python3
# Helpers of tests/interop/repair_chain.sh: edits of an embedded descriptor in place (its reserved
# sectors, NUL padded: vmdk-format.md 2.1, 2.9), the offset of a descriptor line, findings in
# `vmdkit check --json`, and a python3-libvmdk (pyvmdk) read of a chain that follows the hints.
import argparse
import hashlib
import json
import os
import struct
import sys

SECTOR = 512


def descriptor_area(path):
    with open(path, "rb") as f:
        header = f.read(SECTOR)
        magic, = struct.unpack_from("<I", header, 0)
        if magic != 0x564D444B:
            raise SystemExit(f"{path}: not a hosted sparse file")
        offset, size = struct.unpack_from("<QQ", header, 28)
        f.seek(offset * SECTOR)
        area = f.read(size * SECTOR)
    return offset * SECTOR, len(area), area.split(b"\0", 1)[0].decode()


def lines_with_offsets(text):
    pos = 0
    for line in text.split("\n"):
        yield pos, line
        pos += len(line) + 1


def key_of(line):
    return line.split("=", 1)[0].strip() if "=" in line else None


def cmd_set_key(args):
    at, size, text = descriptor_area(args.file)
    lines = [f"{args.key}={args.value}" if key_of(line) == args.key else line for _, line in lines_with_offsets(text)]
    new = "\n".join(lines).encode()
    if len(new) >= size:
        raise SystemExit(f"{args.file}: the edited descriptor does not fit its {size} bytes")
    with open(args.file, "r+b") as f:
        f.seek(at)
        f.write(new + bytes(size - len(new)))


def cmd_get_key(args):
    for _, line in lines_with_offsets(descriptor_area(args.file)[2]):
        if key_of(line) == args.key:
            print(line.split("=", 1)[1].strip().strip('"'))
            return
    raise SystemExit(f"{args.file}: no {args.key}")


def cmd_key_offset(args):
    at, _, text = descriptor_area(args.file)
    for pos, line in lines_with_offsets(text):
        if key_of(line) == args.key:
            print(at + pos + len(line) - len(line.lstrip()))
            return
    raise SystemExit(f"{args.file}: no {args.key}")


def cmd_finding(args):
    """Exit 0 when the check report holds a finding of that code at that file and offset."""
    with open(args.report) as f:
        doc = json.load(f)
    for item in doc["findings"]:
        if (item["code"] == args.code and os.path.realpath(item["file"]) == os.path.realpath(args.file)
                and item["offset"] == args.offset and item["severity"] == args.severity):
            return
    found = ", ".join(f"{i['code']}({i['severity']})@{i['file']}+{i['offset']}" for i in doc["findings"])
    raise SystemExit(f"no {args.severity} {args.code} at {args.file}+{args.offset}; findings: {found or 'none'}")


def hint_of(path):
    for _, line in lines_with_offsets(descriptor_area(path)[2]):
        if key_of(line) == "parentFileNameHint":
            return line.split("=", 1)[1].strip().strip('"')
    return None


def cmd_pyvmdk_sha256(args):
    """Reads the chain of args.top through libvmdk: each parent is the file its child's (repaired)
    parentFileNameHint names, relative to the child's folder; libvmdk compares parentCID with the
    parent's CID in set_parent. The extent data is handed over as file objects, because libvmdk
    would open a single-file disk by the extent name written inside it (the name before a rename)."""
    import pyvmdk  # Debian's python3-libvmdk; loads in the system interpreter only
    handles, files = [], []
    path = args.top
    while path:
        h = pyvmdk.handle()
        h.open(path)
        f = open(path, "rb")
        files.append(f)
        h.open_extent_data_files_file_objects([f])
        handles.append(h)
        hint = hint_of(path)
        if hint is None:
            break
        if os.path.isabs(hint):
            raise SystemExit(f"{path}: parentFileNameHint {hint} is absolute")
        path = os.path.join(os.path.dirname(path), hint)
        if len(handles) > 16:
            raise SystemExit("chain too deep")
    for child, parent in zip(handles, handles[1:]):
        child.set_parent(parent)
    top = handles[0]
    size = top.get_media_size()
    digest = hashlib.sha256()
    pos = 0
    while pos < size:
        n = min(size - pos, 8 << 20)
        data = top.read_buffer_at_offset(n, pos)
        if len(data) != n:
            raise SystemExit(f"pyvmdk: short read at {pos:#x}")
        digest.update(data)
        pos += n
    print(digest.hexdigest(), size)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("set-key")
    s.add_argument("file")
    s.add_argument("key")
    s.add_argument("value")
    s.set_defaults(func=cmd_set_key)
    s = sub.add_parser("get-key")
    s.add_argument("file")
    s.add_argument("key")
    s.set_defaults(func=cmd_get_key)
    s = sub.add_parser("key-offset")
    s.add_argument("file")
    s.add_argument("key")
    s.set_defaults(func=cmd_key_offset)
    s = sub.add_parser("finding")
    s.add_argument("report")
    s.add_argument("code")
    s.add_argument("file")
    s.add_argument("offset", type=int)
    s.add_argument("--severity", default="corruption")
    s.set_defaults(func=cmd_finding)
    s = sub.add_parser("pyvmdk-sha256")
    s.add_argument("top")
    s.set_defaults(func=cmd_pyvmdk_sha256)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
