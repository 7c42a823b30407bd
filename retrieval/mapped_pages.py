"""Hand back the pages of memory-mapped model weights that loading a model has read (Linux).

onnxruntime memory-maps the ONNX export's weights file (`model.onnx.data`). The load probe
(retrieval/onnx_embed.py) looks up ~150 rows of the 47 MB word-embedding table, and every page
fault maps a whole window of neighbouring rows with it (the kernel's fault-around and
read-ahead): ~18 MB of the file end up in the process's resident set although a question
then needs a few rows. `page_out` asks the kernel to reclaim those pages (MADV_PAGEOUT, Linux
5.4+): a clean file page is simply dropped and read again from disk if a later question needs
it, so the process computes exactly what it did; the vectors are the same bytes. A cold
`askdesk ask` peaks ~17 MB lower (BENCHMARKS.md, issue 23).

Elsewhere (another OS, an older kernel, no /proc) it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

MADV_PAGEOUT = 21  # <linux/mman.h>; reclaims, never discards data (unlike MADV_DONTNEED)


def page_out(folder: Path) -> int:
    """Advise the kernel to reclaim this process's mapped pages of the files in `folder`;
    the number of bytes of mappings advised (0 where the hint is unavailable)."""
    if sys.platform != "linux":
        return 0
    try:
        maps = Path("/proc/self/maps").read_text()
        prefix = str(folder.resolve()) + os.sep
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    advised = 0
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith(prefix):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            advised += end - start
        else:  # EINVAL before Linux 5.4: a hint, nothing lost
            log.debug("madvise(MADV_PAGEOUT) refused", extra={"errno": ctypes.get_errno()})
            return advised
    return advised
