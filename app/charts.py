"""Charts drawn on the server as SVG: no script, no external asset, readable when printed in black and white.

Every label passes through markupsafe's escape; numbers are formatted here. Colours are SVG presentation
attributes (not style attributes, which the CSP would refuse) and every bar and point carries its value as
text, so a grey printout reads as well as the screen.
"""

from decimal import Decimal

from markupsafe import Markup, escape

WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 12, 28, 40
BAR = "#3b6fb6"
SECOND = "#c0662b"
GRID = "#d0d5dd"
INK = "#1f2933"


def _number(value) -> str:
    """A value as a label: integers plain, decimals to two places."""
    if isinstance(value, Decimal | float):
        return format(Decimal(str(value)).quantize(Decimal("0.01")), "f")
    return str(value)


def _frame(title: str, body: list[str], label: str, width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """The SVG element around a chart's parts, titled for screen readers and the printout."""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
            f' width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
            f"<title>{escape(label)}</title>"
            f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-size="13" font-weight="bold"'
            f' fill="{INK}">{escape(title)}</text>')
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 # nosec B704 - every text above is escaped


def _axis(top: int, height: int, width: int, scale_max: float, ticks: int = 4, suffix: str = "") -> list[str]:
    """Horizontal grid lines with their values at the left."""
    parts = []
    for step in range(ticks + 1):
        value = scale_max * step / ticks
        y = top + height - height * step / ticks
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + width}" y2="{y:.1f}" stroke="{GRID}"'
                     ' stroke-width="1"/>')
        shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="{INK}">'
                     f"{escape(shown + suffix)}</text>")
    return parts


def bar_chart(title: str, data: list[tuple[str, int]], unit: str = "个") -> Markup:
    """Vertical bars, one per (label, count), each with its count above it."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = max((count for _, count in data), default=0)
    scale = max(4, top_value + (-top_value) % 4)  # a round top, so the grid lines fall on whole numbers
    body = _axis(TOP, plot_h, plot_w, scale)
    slot = plot_w / max(len(data), 1)
    for index, (label, count) in enumerate(data):
        bar_h = plot_h * count / scale
        x = LEFT + slot * index + slot * 0.15
        y = TOP + plot_h - bar_h
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" fill="{BAR}"'
                    f' stroke="{INK}" stroke-width="0.6"><title>{escape(label)}：{count}{escape(unit)}</title></rect>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="11"'
                    f' fill="{INK}">{count}</text>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 15}" text-anchor="middle" font-size="11"'
                    f' fill="{INK}">{escape(label)}</text>')
    listed = "；".join(f"{label} {count}{unit}" for label, count in data)
    return _frame(title, body, f"{title}：{listed}")


def line_chart(title: str, years: list[int], series: list[tuple[str, list[Decimal | None]]],
               suffixes: tuple[str, ...] = ()) -> Markup:
    """Lines over the years, one per (name, values) on a common 0–100 scale, each point labelled.

    A value above 100 (an execution rate over 100%) raises the scale; a None leaves a gap."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM - 14
    values = [float(v) for _, points in series for v in points if v is not None]
    scale = max(100.0, *values) if values else 100.0
    scale = float(int(scale + 19) // 20 * 20) if scale > 100 else 100.0
    body = _axis(TOP, plot_h, plot_w, scale)
    step = plot_w / max(len(years), 1)
    x_of = [LEFT + step * index + step / 2 for index in range(len(years))]
    for index, year in enumerate(years):
        body.append(f'<text x="{x_of[index]:.1f}" y="{TOP + plot_h + 15}" text-anchor="middle" font-size="11"'
                    f' fill="{INK}">{year}</text>')
    colours = (BAR, SECOND)
    dashes = ("", ' stroke-dasharray="5 3"')  # told apart in a black-and-white printout too
    for number, (name, points) in enumerate(series):
        colour, dash = colours[number % 2], dashes[number % 2]
        suffix = suffixes[number] if number < len(suffixes) else ""
        coords = [(x_of[i], TOP + plot_h - plot_h * float(v) / scale, v) for i, v in enumerate(points) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coords)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y, value in coords:
            marker = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"/>' if number % 2 == 0 else
                      f'<rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" height="7" fill="{colour}"/>')
            body.append(marker)
            offset = -7 if number % 2 == 0 else 14
            body.append(f'<text x="{x:.1f}" y="{y + offset:.1f}" text-anchor="middle" font-size="10" fill="{colour}">'
                        f"{escape(_number(value) + suffix)}</text>")
        legend_x = LEFT + number * 150
        legend_y = HEIGHT - 8
        body.append(f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 18}" y2="{legend_y - 4}"'
                    f' stroke="{colour}" stroke-width="2"{dash}/>')
        body.append(f'<text x="{legend_x + 22}" y="{legend_y}" font-size="11" fill="{INK}">{escape(name)}</text>')
    listed = "；".join(
        f"{name}：" + "、".join(f"{year}年 {_number(v) + (suffixes[n] if n < len(suffixes) else '')}"
                               for year, v in zip(years, points, strict=True) if v is not None)
        for n, (name, points) in enumerate(series))
    return _frame(title, body, f"{title}。{listed}")
