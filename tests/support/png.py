"""Reading the browser tests' screenshots: an 8-bit RGB/RGBA PNG (what chromium writes)
decoded with zlib and numpy, and the pixel figures the tests assert on.

The decoder follows the PNG specification (W3C, 2nd edition, §9 "Filtering": filter types
None, Sub, Up, Average, Paeth, each reconstructed modulo 256). Sub and Up (nearly every row
chromium writes) are whole-row numpy operations; Average and Paeth, whose bytes depend on
the reconstructed byte to their left, are reconstructed byte by byte.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png(path: Path) -> np.ndarray:
    """The pixels of the PNG at ``path`` as an array of shape (height, width, 3), uint8 RGB
    (alpha dropped). Asserts an 8-bit RGB or RGBA, non-interlaced image."""
    data = path.read_bytes()
    assert data[:8] == SIGNATURE, f"{path} is not a PNG"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk[:13])
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    stride = width * bpp
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, stride + 1)
    out = np.empty((height, stride), np.uint8)
    prev = np.zeros(stride, np.int64)
    for y in range(height):
        f, line = int(raw[y, 0]), raw[y, 1:].astype(np.int64)
        if f == 1:  # Sub: each byte plus the reconstructed byte bpp to its left
            line = np.cumsum(line.reshape(width, bpp), axis=0).reshape(stride) & 255
        elif f == 2:  # Up: plus the byte above
            line = (line + prev) & 255
        elif f in (3, 4):
            line = _average_or_paeth(f, line, prev, bpp)
        else:
            assert f == 0, f"unknown PNG filter {f} in row {y}"
        out[y] = line
        prev = line
    return out.reshape(height, width, bpp)[:, :, :3]


def _average_or_paeth(f: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    """One row of filter type 3 (Average) or 4 (Paeth) reconstructed byte by byte."""
    cur, up = [int(x) for x in line], [int(x) for x in prev]
    for i in range(len(cur)):
        a = cur[i - bpp] if i >= bpp else 0
        b = up[i]
        c = up[i - bpp] if i >= bpp else 0
        if f == 3:
            cur[i] = (cur[i] + (a + b) // 2) & 255
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return np.array(cur, np.int64)


def pixel_stats(path: Path, colour: tuple[int, int, int], tol: int = 24) -> tuple[int, float, int]:
    """(distinct colours, share of non-white pixels, pixels near ``colour``) of a screenshot.

    Non-white: R+G+B < 740. Near: every channel within ``tol`` of ``colour``.
    """
    px = read_png(path).reshape(-1, 3).astype(np.int32)
    packed = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    nonwhite = int((px.sum(axis=1) < 740).sum())
    near = int((np.abs(px - np.array(colour, np.int32)).max(axis=1) <= tol).sum())
    return len(np.unique(packed)), nonwhite / len(px), near
