"""Where a bar chart's texts go: each bar's value over the bar, and the reference line's label beside the line,
none on top of another and all inside the plot, for any figures and any chart size.

Pure geometry in pixels (y grows downwards, as on screen), so it is tested without Qt; `metric_bars` feeds it
the real sizes of its texts and the plot's size whenever either changes.
"""

from __future__ import annotations

from dataclasses import dataclass

GAP = 2.0  # pixels between a text and what it labels
STAGGER = 3  # how many text heights a value may be lifted to clear its neighbour's
NEAR = 2  # the line's label stays within this many text heights of the line, unless the plot has no room


@dataclass(frozen=True)
class Box:
    """A text's rectangle in plot pixels."""
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        """Their insides meet (sharing an edge is not overlapping)."""
        return (self.left < other.right and other.left < self.right
                and self.top < other.bottom and other.top < self.bottom)

    def overlap_area(self, other: Box) -> float:
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        return max(w, 0.0) * max(h, 0.0)

    def within(self, width: float, height: float) -> bool:
        return self.left >= 0 and self.top >= 0 and self.right <= width and self.bottom <= height


def _box(centre_x: float, bottom: float, size: tuple[float, float], width: float) -> Box:
    """A box of `size` centred on centre_x, resting on `bottom`, slid sideways to stay within [0, width]."""
    w, h = size
    left = min(max(centre_x - w / 2, 0.0), max(width - w, 0.0))
    return Box(left, bottom - h, left + w, bottom)


@dataclass(frozen=True)
class Frame:
    """How data coordinates land on the plot's pixels (the view range fills the plot exactly)."""
    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def px(self, x: float) -> float:
        x0, x1 = self.x_range
        return (x - x0) / (x1 - x0) * self.width

    def py(self, y: float) -> float:
        y0, y1 = self.y_range
        return (y1 - y) / (y1 - y0) * self.height

    def data_x(self, px: float) -> float:
        x0, x1 = self.x_range
        return x0 + px / self.width * (x1 - x0)

    def data_y(self, py: float) -> float:
        y0, y1 = self.y_range
        return y1 - py / self.height * (y1 - y0)


def place_values(frame: Frame, bars: list[tuple[float, float]], sizes: list[tuple[float, float]]) -> list[Box]:
    """Each bar's value (bars: (x, top) in data) just over its top, lifted by whole text heights where it would
    cover the value of a bar already placed (narrow charts, long numbers)."""
    placed: list[Box] = []
    for (x, top), size in zip(bars, sizes):
        rest = frame.py(top) - GAP
        candidates = [_box(frame.px(x), rest - k * (size[1] + GAP), size, frame.width) for k in range(STAGGER + 1)]
        placed.append(next((c for c in candidates if not any(c.overlaps(p) for p in placed)), candidates[-1]))
    return placed


def place_line_label(frame: Frame, y: float, size: tuple[float, float], taken: list[Box],
                     anchors_x: list[float], reach: int | None = NEAR) -> tuple[Box, bool]:
    """The reference line's label: as close to the line as it can be (just over it, else just under it, then a
    text height farther each time, `reach` times at most, or anywhere in the plot with None), at the right end,
    the left end or one of `anchors_x` (data), on the first spot that covers none of `taken` and stays inside the
    plot. Returns the box and whether it is free; when no spot is free, the one that covers least."""
    w, h = size
    line = frame.py(y)
    centres = [frame.width - w / 2, w / 2] + [frame.px(x) for x in anchors_x]
    rows = int(frame.height // (h + GAP)) + 1 if reach is None else reach
    candidates = []
    for k in range(rows):
        for bottom in (line - GAP - k * (h + GAP), line + GAP + h + k * (h + GAP)):  # over, then under
            candidates += [_box(cx, bottom, size, frame.width) for cx in centres]
    for box in candidates:
        if box.within(frame.width, frame.height) and not any(box.overlaps(t) for t in taken):
            return box, True
    inside = [b for b in candidates if b.within(frame.width, frame.height)] or candidates
    return min(inside, key=lambda b: sum(b.overlap_area(t) for t in taken)), False


@dataclass(frozen=True)
class Layout:
    y_range: tuple[float, float]
    values: list[Box]
    line_label: Box | None


def bar_boxes(frame: Frame, bars: list[tuple[float, float]], bottom: float, bar_width: float) -> list[Box]:
    """Each bar's rectangle in plot pixels (bars: (x, top) in data, `bar_width` wide in data)."""
    boxes = []
    for x, top in bars:
        left, right = frame.px(x - bar_width / 2), frame.px(x + bar_width / 2)
        boxes.append(Box(left, min(frame.py(top), frame.py(bottom)), right, max(frame.py(top), frame.py(bottom))))
    return boxes


# How much taller a chart's range may grow so that the line's label clears the bars: more squashes the bars (the
# Fréchet distance chart, whose line lies under every bar, grew to 4x), so the label is then left out.
BAR_CLEARING_GROWTH = 1.5


def lay_out(width: float, height: float, x_range: tuple[float, float], bottom: float,
            bars: list[tuple[float, float]], value_sizes: list[tuple[float, float]],
            line: float | None = None, line_size: tuple[float, float] | None = None,
            headroom: float = 0.08, bar_width: float = 0.0) -> Layout:
    """The y range (from `bottom`, with room over the tallest bar and the line) and every text's box. The top of
    the range is raised until every text fits inside the plot without covering another and the line's label is
    near its line; in a plot too small for that, the label goes wherever it covers nothing (or least). With
    `bar_width` (in data) the label also keeps off the bars, where that costs the range at most BAR_CLEARING_GROWTH,
    and is left out (line_label None) where it cannot: five families' bars leave no gap between them, a label over
    a bar hid its top, and the caller says what the line is elsewhere."""
    tops = [top for _, top in bars] + ([line] if line is not None else [])
    highest = max(tops) if tops else bottom + 1.0
    y_top = highest + max(highest - bottom, 1e-9) * headroom
    if bar_width > 0 and line is not None:
        layout, fitted = _fit(width, height, x_range, bottom, y_top, bars, value_sizes, line, line_size, bar_width)
        if fitted and layout.y_range[1] - bottom <= BAR_CLEARING_GROWTH * (y_top - bottom):
            return layout
        without = _fit(width, height, x_range, bottom, y_top, bars, value_sizes, None, None, 0.0)[0]
        return Layout(without.y_range, without.values, None)
    return _fit(width, height, x_range, bottom, y_top, bars, value_sizes, line, line_size, 0.0)[0]


def _fit(width: float, height: float, x_range: tuple[float, float], bottom: float, y_top: float,
         bars: list[tuple[float, float]], value_sizes: list[tuple[float, float]], line: float | None,
         line_size: tuple[float, float] | None, bar_width: float) -> tuple[Layout, bool]:
    """lay_out's search from the range's top `y_top`, the bars in the way when bar_width > 0; and whether every
    text found a free place (else the label has gone wherever it covers least)."""
    def blocked(frame: Frame, values: list[Box]) -> list[Box]:
        return values + (bar_boxes(frame, bars, bottom, bar_width) if bar_width > 0 else [])

    layout = Layout((bottom, y_top), [], None)
    for _ in range(12):
        frame = Frame(width, height, x_range, (bottom, y_top))
        values = place_values(frame, bars, value_sizes)
        label, free = (None, True)
        if line is not None and line_size is not None:
            label, free = place_line_label(frame, line, line_size, blocked(frame, values), [x for x, _ in bars])
        layout = Layout((bottom, y_top), values, label)
        boxes = values + ([label] if label is not None else [])
        clear = all(not a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
        over = -min((b.top for b in boxes), default=0.0)  # pixels sticking out over the plot's top
        if free and clear and over <= 0:
            return layout, True
        # Lift the top so that what sticks out fits, or by a text height when texts still collide or the label
        # found no room near its line.
        text_h = max([s[1] for s in value_sizes] + ([line_size[1]] if line_size else []), default=0.0)
        lift_px = max(over, 0.0) + (text_h if not free or not clear else 0.0) + GAP
        if lift_px >= height * 0.8:
            break
        y_top += (y_top - bottom) * lift_px / (height - lift_px)
    if line is not None and line_size is not None and layout.line_label is not None:
        frame = Frame(width, height, x_range, layout.y_range)
        label, _ = place_line_label(frame, line, line_size, blocked(frame, layout.values), [x for x, _ in bars],
                                    reach=None)
        layout = Layout(layout.y_range, layout.values, label)
    return layout, False
