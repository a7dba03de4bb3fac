"""The Teams app icons, drawn with simple geometry and written as PNG with zlib and struct only.

The symbol is two curved "sync" arrows chasing each other round a circle. The color icon is
192x192, the white symbol on a solid accent-color square (Teams rounds the corners itself); the
outline icon is 32x32, the same symbol in white on a transparent background (alpha channel).
Edges are anti-aliased by sampling every pixel on a 4x4 grid.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

RGB = tuple[int, int, int]
Point = tuple[float, float]
Shape = Callable[[float, float], bool]  # (x, y) in [-1, 1], y up -> inside the symbol?

SUPERSAMPLE = 4
WHITE: RGB = (255, 255, 255)


@dataclass(frozen=True)
class SyncArrows:
    """Two arcs of a ring, each ending in an arrowhead pointing clockwise.

    ``radius`` is the middle of the ring, ``width`` its thickness, both relative to the half
    size of the icon; ``start``/``end`` are the degrees of the first arc (the second is the
    same arc turned by 180 degrees) and the arrowhead sits at ``start``.
    """

    radius: float
    width: float
    start: float = 30.0
    end: float = 165.0
    head_width: float = 2.3  # arrowhead base, in ring widths
    head_length: float = 1.6  # arrowhead length along the circle, in ring widths

    def __call__(self, x: float, y: float) -> bool:
        return self._on_ring(x, y) or any(self._in_head(x, y, turn) for turn in (0.0, 180.0))

    def _on_ring(self, x: float, y: float) -> bool:
        if abs(math.hypot(x, y) - self.radius) > self.width / 2:
            return False
        angle = math.degrees(math.atan2(y, x))
        span = (self.end - self.start) % 360.0
        return any((angle - self.start - turn) % 360.0 <= span for turn in (0.0, 180.0))

    def _in_head(self, x: float, y: float, turn: float) -> bool:
        theta = math.radians(self.start + turn)
        radial = (math.cos(theta), math.sin(theta))
        clockwise = (math.sin(theta), -math.cos(theta))
        half_base = self.head_width * self.width / 2
        base_a = _offset((0.0, 0.0), radial, self.radius - half_base)
        base_b = _offset((0.0, 0.0), radial, self.radius + half_base)
        middle = _offset((0.0, 0.0), radial, self.radius)
        tip = _offset(middle, clockwise, self.head_length * self.width)
        return _in_triangle((x, y), base_a, base_b, tip)


def _offset(point: Point, direction: Point, by: float) -> Point:
    return (point[0] + direction[0] * by, point[1] + direction[1] * by)


def _in_triangle(p: Point, a: Point, b: Point, c: Point) -> bool:
    def side(u: Point, v: Point) -> float:
        return (v[0] - u[0]) * (p[1] - u[1]) - (v[1] - u[1]) * (p[0] - u[0])

    signs = (side(a, b), side(b, c), side(c, a))
    return all(s >= 0 for s in signs) or all(s <= 0 for s in signs)


def coverage(shape: Shape, size: int) -> list[list[float]]:
    """The fraction (0-1) of each pixel of a ``size`` square that ``shape`` covers."""
    step = 2.0 / (size * SUPERSAMPLE)
    samples = [(i + 0.5) * step for i in range(size * SUPERSAMPLE)]
    rows: list[list[float]] = []
    for py in range(size):
        row: list[float] = []
        for px in range(size):
            hits = sum(
                shape(samples[px * SUPERSAMPLE + sx] - 1.0, 1.0 - samples[py * SUPERSAMPLE + sy])
                for sy in range(SUPERSAMPLE)
                for sx in range(SUPERSAMPLE)
            )
            row.append(hits / SUPERSAMPLE**2)
        rows.append(row)
    return rows


def _blend(background: RGB, foreground: RGB, amount: float) -> bytes:
    return bytes(round(b + (f - b) * amount) for b, f in zip(background, foreground, strict=True))


def color_icon(background: RGB, size: int = 192) -> bytes:
    """PNG bytes: the white symbol on a solid ``background`` square, RGB without alpha."""
    cover = coverage(SyncArrows(radius=0.40, width=0.14), size)
    rows = [b"".join(_blend(background, WHITE, c) for c in row) for row in cover]
    return png(size, size, rows, alpha=False)


def outline_icon(size: int = 32) -> bytes:
    """PNG bytes: the white symbol on transparent, RGBA; every pixel is white or transparent."""
    cover = coverage(SyncArrows(radius=0.62, width=0.22), size)
    rows = [b"".join(bytes((*WHITE, round(255 * c))) for c in row) for row in cover]
    return png(size, size, rows, alpha=True)


def hex_to_rgb(color: str) -> RGB:
    """``#RRGGBB`` to its three channels."""
    value = int(color.removeprefix("#"), 16)
    return (value >> 16 & 0xFF, value >> 8 & 0xFF, value & 0xFF)


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png(width: int, height: int, rows: list[bytes], *, alpha: bool) -> bytes:
    """An 8-bit truecolor PNG (color type 6 with alpha, 2 without) from raw pixel rows."""
    color_type = 6 if alpha else 2
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 (None) on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )
