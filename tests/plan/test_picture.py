"""picture.py: the arena over time as a self-contained, deterministic SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tinygen.plan import plan_memory
from tinygen.plan.picture import legend, render_svg

from .conftest import graph, two_branches

SVG = "{http://www.w3.org/2000/svg}"


def test_one_labelled_rectangle_per_buffer() -> None:
    g = two_branches()
    plan = plan_memory(g)
    root = ET.fromstring(render_svg(plan, g, "two branches"))
    assert root.tag == f"{SVG}svg"
    tips = [el.text or "" for el in root.iter(f"{SVG}title")]
    assert tips[0] == "two branches: 144 B arena, lower bound 144 B (greedy_by_size, optimal)"
    buffer_tips = [tip for tip in tips if " B at offset " in tip]
    assert len(buffer_tips) == len(plan.buffers) == 7
    assert "r1: 64 B at offset 64, steps 2 to 4 (#4 in the legend)" in buffer_tips
    step_tips = [tip for tip in tips if tip.startswith("step ")]
    assert step_tips[0] == "step -1: inputs copied in; 16 B live"
    assert step_tips[3] == "step 2: add n3; 144 B live"
    assert step_tips[-1] == "step 6: outputs copied out; 8 B live"
    labels = [el.text for el in root.iter(f"{SVG}text")]
    assert "l1" in labels and "64 B" in labels


def test_rectangles_sit_where_the_plan_puts_them() -> None:
    g = two_branches()
    plan = plan_memory(g)
    root = ET.fromstring(render_svg(plan, g))
    rects = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        rect = group.find(f"{SVG}rect")
        if title is not None and rect is not None and " B at offset " in (title.text or ""):
            rects[(title.text or "").split(":")[0]] = rect
    # Same step span -> same width; a buffer at offset 0 touches the bottom of the plot.
    assert rects["l1"].get("width") == rects["r1"].get("width")
    bottoms = {name: float(r.get("y", 0)) + float(r.get("height", 0)) for name, r in rects.items()}
    assert bottoms["l1"] == max(bottoms.values())
    assert float(rects["r1"].get("y", 0)) < float(rects["l1"].get("y", 0))  # r1 above l1


def test_deterministic_and_escaped() -> None:
    g = graph([("<conv & relu>", "add", ["in<0>"], ["out&1"])], {"in<0>": 12, "out&1": 4}, ["in<0>"], ["out&1"])
    plan = plan_memory(g)
    first = render_svg(plan, g, 'model "a<b"')
    assert first == render_svg(plan_memory(g), g, 'model "a<b"')
    root = ET.fromstring(first)  # parses: every name is escaped
    assert any("in<0>" in (el.text or "") for el in root.iter(f"{SVG}title"))
    assert "http" not in first.replace("http://www.w3.org/2000/svg", "")  # nothing external


def test_empty_buffers_and_no_graph() -> None:
    g = graph([("n", "reshape", ["x"], ["y"])], {"x": 0, "y": 0}, ["x"], ["y"])
    svg = render_svg(plan_memory(g))
    ET.fromstring(svg)
    assert "node 0" in svg


def test_readable_at_150_steps() -> None:
    """A 150-layer chain whose names share a long prefix (issue 17: every label was cut to "activat…"):
    the step axis is labelled at round steps only, and a rectangle shows either a whole name or its
    number in the legend, whose entries are the buffers in that order."""
    count = 150
    names = [f"model/activation_{i}/Relu;model/batch_normalization_{i}/FusedBatchNormV3" for i in range(count)]
    sizes = {"x": 300, **{name: 200 + (i % 7) * 40 for i, name in enumerate(names)}}
    nodes = [(f"layer{i}", "add", ["x" if i == 0 else names[i - 1]], [names[i]]) for i in range(count)]
    nodes[9] = ("layer9", "add", [names[8], names[0]], [names[9]])  # names[0] lives 10 steps: room for "#2"
    g = graph(nodes, sizes, ["x"], [names[-1]])
    plan = plan_memory(g)
    root = ET.fromstring(render_svg(plan, g, "chain"))
    texts = [el.text or "" for el in root.iter(f"{SVG}text")]
    ticks = [int(t) for t in texts if t.lstrip("-").isdigit()]
    assert 10 <= len(ticks) <= 25 and all(t % 10 == 0 for t in ticks), ticks  # 0, 10, ..., 150
    entries = legend(plan)
    assert [e["name"] for e in entries][:3] == ["x", names[0], names[1]] and len(entries) == count + 1
    numbered = [t for t in texts if t.startswith("#")]
    assert numbered and not any("…" in t for t in texts)  # no cut names: numbers instead
    for label in numbered:
        number = int(label.split()[0][1:])
        assert 1 <= number <= len(entries)
