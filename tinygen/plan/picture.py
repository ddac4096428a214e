"""A picture of the arena over time: a self-contained, deterministic SVG.

x is the step (-1: inputs copied in, then one column per node, then the outputs copied out), y the
byte offset in the arena (0 at the bottom). Each buffer is a rectangle spanning its lifetime and
its bytes, labelled with its name and size where it is large enough (else with its number in the
legend table the report prints next to the picture) and always carrying a tooltip.
A blue staircase draws the bytes live at each step (the lower bound is its highest point) and a
dashed line the arena size, so the space lost to fragmentation is visible at a glance.
"""

from __future__ import annotations

from html import escape

from ..ir import Graph
from .liveness import Buffer
from .planner import MemoryPlan

WIDTH = 960
HEIGHT = 540
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 20, 48, 50
PALETTE = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
           "#bc80bd", "#ccebc5", "#ffed6f", "#a6cee3")
LIVE_COLOR = "#1f4e9c"
ARENA_COLOR = "#d62728"
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _short_names(names: list[str]) -> dict[str, str]:
    """Names without the folder-like prefix that all names with folders share ("model/"), for labels."""
    folders = [name.split("/")[:-1] for name in names if "/" in name]
    shared = 0
    while len(folders) > 1 and all(len(f) > shared and f[shared] == folders[0][shared] for f in folders):
        shared += 1
    return {name: "/".join(name.split("/")[shared:]) if "/" in name else name for name in names}


def shown_buffers(plan: MemoryPlan) -> list[Buffer]:
    """The buffers the picture draws, in the order of their numbers (#1, #2, ...)."""
    return sorted((b for b in plan.buffers if b.size > 0), key=lambda b: (b.first, b.name))


def legend(plan: MemoryPlan) -> list[dict[str, object]]:
    """The picture's buffers by number: name, bytes, offset, first and last step (the report's legend)."""
    return [{"number": index + 1, "name": b.name, "size": b.size, "offset": plan.offsets[b.name],
             "first": b.first, "last": b.last} for index, b in enumerate(shown_buffers(plan))]


def render_svg(plan: MemoryPlan, graph: Graph | None = None, title: str | None = None) -> str:
    """The arena of `plan` as SVG text; with `graph`, step tooltips name the node run at each step."""
    first_step, last_step = -1, plan.steps
    columns = last_step - first_step + 1
    height_bytes = max(plan.arena_size, plan.lower_bound, 1)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    column_w = plot_w / columns
    live_per_step = plan.live_per_step()

    def x(step: float) -> float:
        return MARGIN_LEFT + (step - first_step) * column_w

    def y(offset: float) -> float:
        return MARGIN_TOP + plot_h - offset / height_bytes * plot_h

    title = title or "arena"
    heading = (f"{title}: {plan.arena_size:,} B arena, lower bound {plan.lower_bound:,} B "
               f"({plan.algorithm}{', optimal' if plan.optimal else ''})")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}">',
           f"<title>{escape(heading)}</title>",
           f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
           f'<text x="{MARGIN_LEFT}" y="18" {FONT} font-size="14">{escape(heading)}</text>',
           f'<line x1="{MARGIN_LEFT}" y1="31" x2="{MARGIN_LEFT + 24}" y2="31" stroke="{LIVE_COLOR}" '
           f'stroke-width="1.5"/>',
           f'<text x="{MARGIN_LEFT + 30}" y="34" {FONT} font-size="10">bytes live per step</text>',
           f'<line x1="{MARGIN_LEFT + 150}" y1="31" x2="{MARGIN_LEFT + 174}" y2="31" stroke="{ARENA_COLOR}" '
           f'stroke-dasharray="6 4"/>',
           f'<text x="{MARGIN_LEFT + 180}" y="34" {FONT} font-size="10">arena size</text>']

    # Axes: offsets on the left, steps below.
    for tick in range(5):
        offset = height_bytes * tick / 4
        out.append(f'<line x1="{MARGIN_LEFT}" y1="{_num(y(offset))}" x2="{WIDTH - MARGIN_RIGHT}" '
                   f'y2="{_num(y(offset))}" stroke="#eeeeee"/>')
        out.append(f'<text x="{MARGIN_LEFT - 6}" y="{_num(y(offset) + 4)}" {FONT} font-size="10" '
                   f'text-anchor="end">{int(offset):,}</text>')
    # Step labels at round numbers, at most about 24 of them (150 steps: every 10th).
    label_every = next(n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500, 10**9) if columns / n <= 24)
    for step in range(first_step, last_step + 1):
        if step == last_step:
            what = "outputs copied out"
        elif step < 0:
            what = "inputs copied in"
        elif graph is not None:
            what = f"{graph.nodes[step].op} {graph.nodes[step].name}"
        else:
            what = f"node {step}"
        live = live_per_step.get(step, 0)
        out.append(f'<g><title>step {step}: {escape(what)}; {live:,} B live</title>'
                   f'<rect x="{_num(x(step))}" y="{HEIGHT - MARGIN_BOTTOM}" width="{_num(column_w)}" '
                   f'height="18" fill="#f7f7f7" stroke="#dddddd"/>')
        if step % label_every == 0:
            out.append(f'<text x="{_num(x(step + 0.5))}" y="{HEIGHT - MARGIN_BOTTOM + 13}" {FONT} '
                       f'font-size="10" text-anchor="middle">{step}</text>')
        out.append("</g>")
    out.append(f'<text x="{_num(MARGIN_LEFT + plot_w / 2)}" y="{HEIGHT - 10}" {FONT} font-size="11" '
               f'text-anchor="middle">step</text>')
    out.append(f'<text x="14" y="{_num(MARGIN_TOP + plot_h / 2)}" {FONT} font-size="11" text-anchor="middle" '
               f'transform="rotate(-90 14 {_num(MARGIN_TOP + plot_h / 2)})">offset (bytes)</text>')

    # Buffers, coloured in order of first use so that neighbours differ. A rectangle too narrow for
    # its name shows its number in the legend (legend(): the report's table of buffers) instead.
    shown = shown_buffers(plan)
    short = _short_names([b.name for b in shown])
    for index, buffer in enumerate(shown):
        offset = plan.offsets[buffer.name]
        left, right = x(buffer.first), x(buffer.last + 1)
        top, bottom = y(offset + buffer.size), y(offset)
        tip = (f"{buffer.name}: {buffer.size:,} B at offset {offset:,}, "
               f"steps {buffer.first} to {buffer.last} (#{index + 1} in the legend)")
        out.append(f'<g><title>{escape(tip)}</title>'
                   f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" '
                   f'height="{_num(bottom - top)}" fill="{PALETTE[index % len(PALETTE)]}" stroke="#333333" '
                   f'stroke-width="0.6"/>')
        room = int((right - left - 6) / 5.5)  # characters that fit at font size 9
        # Text is never cut: the name if it fits, else the number; the size only where it fits too.
        label = short[buffer.name] if len(short[buffer.name]) <= room else f"#{index + 1}"
        size = f"{buffer.size:,} B"
        lines = [label, size] if bottom - top >= 24 else \
            [f"{label} {size}" if len(label) + len(size) < room else label] if bottom - top >= 11 else []
        lines = [line for line in lines if len(line) <= room]
        middle = (top + bottom) / 2 - 5.5 * (len(lines) - 1) + 3
        for row, line in enumerate(lines):
            out.append(f'<text x="{_num(left + 3)}" y="{_num(middle + 11 * row)}" {FONT} '
                       f'font-size="9">{escape(line)}</text>')
        out.append("</g>")

    # Live bytes per step, and the arena's top.
    points = []
    for step in range(first_step, last_step + 1):
        live = live_per_step.get(step, 0)
        points += [f"{_num(x(step))},{_num(y(live))}", f"{_num(x(step + 1))},{_num(y(live))}"]
    out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{LIVE_COLOR}" stroke-width="1.5" '
               f'stroke-opacity="0.8">'
               f'<title>bytes live per step (highest: the lower bound, {plan.lower_bound:,} B)</title></polyline>')
    out.append(f'<line x1="{MARGIN_LEFT}" y1="{_num(y(plan.arena_size))}" x2="{WIDTH - MARGIN_RIGHT}" '
               f'y2="{_num(y(plan.arena_size))}" stroke="{ARENA_COLOR}" stroke-dasharray="6 4">'
               f'<title>arena size {plan.arena_size:,} B</title></line>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
