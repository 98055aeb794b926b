#!/usr/bin/env python3
"""Page-cache folio sizes behind files: why the same bytes start at different speeds.

Maps each file, touches every page (so that what is not cached gets read in), then reads each
page's frame from /proc/self/pagemap and its flags from /proc/kpageflags to find the folio it
belongs to (a compound page: a head and its tails). Needs root (kpageflags).

usage: sudo benches/folios.py FILE...
"""
import collections
import ctypes
import os
import struct
import sys

KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL = 15, 16
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]


def folio_sizes(path):
    """Counter of folio sizes in pages, over the file's pages."""
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    base = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
    page = os.sysconf("SC_PAGE_SIZE")
    pages = (size + page - 1) // page
    for i in range(pages):
        ctypes.c_char.from_address(base + i * page).value
    sizes, run = collections.Counter(), 0
    with open("/proc/self/pagemap", "rb") as pagemap, open("/proc/kpageflags", "rb") as kpageflags:
        for i in range(pages):
            pagemap.seek((base // page + i) * 8)
            entry = struct.unpack("Q", pagemap.read(8))[0]
            if not entry >> 63:
                continue
            kpageflags.seek((entry & ((1 << 55) - 1)) * 8)
            flags = struct.unpack("Q", kpageflags.read(8))[0]
            if flags >> KPF_COMPOUND_TAIL & 1:
                run += 1
                continue
            if run:
                sizes[run] += 1
            run = 1 if flags >> KPF_COMPOUND_HEAD & 1 else 0
            if not run:
                sizes[1] += 1
    if run:
        sizes[run] += 1
    return size, sizes


for path in sys.argv[1:]:
    size, sizes = folio_sizes(path)
    total = sum(k * v for k, v in sizes.items())
    shown = ", ".join(f"{v}×{k * 4} KiB" for k, v in sorted(sizes.items()))
    print(f"{path}: {size} bytes; folios: {shown}; {100 * sizes[1] / max(total, 1):.0f}% of pages in 4 KiB folios")
