"""Charts as inline SVG, pure: data in, markup out. No JavaScript, no CDN; every number is
also in a table beside the chart (and in each bar's <title>, which browsers show on hover)."""

from __future__ import annotations

from markupsafe import Markup, escape

COLORS = {
    "active": "#15803d",
    "pending": "#a3a3a3",
    "unsubscribed": "#ca8a04",
    "bounced": "#b91c1c",
    "complained": "#7c3aed",
    "sent": "#15803d",
    "failed": "#b91c1c",
    "skipped": "#ca8a04",
    "nothing relevant": "#a3a3a3",
    "to send": "#1d4ed8",
}
W, H, PAD = 640, 200, 28


def stacked_bars(title: str, bars: list[tuple[str, dict[str, int]]]) -> Markup:
    """One bar per label, its parts stacked in the order given."""
    top = max((sum(parts.values()) for _, parts in bars), default=0) or 1
    step = (W - PAD) / max(len(bars), 1)
    shapes = []
    for i, (label, parts) in enumerate(bars):
        x, y = PAD + i * step, H - PAD
        for name, value in parts.items():
            height = (H - 2 * PAD) * value / top
            y -= height
            shapes.append(
                f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{max(step - 4, 1):.1f}" '
                f'height="{height:.1f}" fill="{COLORS.get(name, "#555")}">'
                f"<title>{escape(label)}: {value} {escape(name)}</title></rect>"
            )
        shapes.append(
            f'<text x="{x + step / 2:.1f}" y="{H - 8}" text-anchor="middle">'
            f"{escape(label[-5:])}</text>"
        )
    return _svg(title, shapes, top, names=_names(bars))


def lines(title: str, labels: list[str], series: dict[str, list[int]]) -> Markup:
    """One polyline per series over the same labels (dates)."""
    top = max((max(v, default=0) for v in series.values()), default=0) or 1
    step = (W - PAD) / max(len(labels) - 1, 1)
    shapes = []
    for name, values in series.items():
        points = " ".join(
            f"{PAD + i * step:.1f},{H - PAD - (H - 2 * PAD) * v / top:.1f}"
            for i, v in enumerate(values)
        )
        shapes.append(
            f'<polyline points="{points}" fill="none" stroke-width="2" '
            f'stroke="{COLORS.get(name, "#555")}"><title>{escape(name)}: '
            f"{values[-1] if values else 0} now</title></polyline>"
        )
    if labels:
        shapes.append(f'<text x="{PAD}" y="{H - 8}">{escape(labels[0])}</text>')
        shapes.append(f'<text x="{W}" y="{H - 8}" text-anchor="end">{escape(labels[-1])}</text>')
    return _svg(title, shapes, top, names=list(series))


def _names(bars: list[tuple[str, dict[str, int]]]) -> list[str]:
    return list(dict.fromkeys(name for _, parts in bars for name in parts))


def _svg(title: str, shapes: list[str], top: int, *, names: list[str]) -> Markup:
    legend = "".join(
        f'<rect x="{PAD + i * 120}" y="0" width="10" height="10" fill="{COLORS.get(n, "#555")}"/>'
        f'<text x="{PAD + i * 120 + 14}" y="10">{escape(n)}</text>'
        for i, n in enumerate(names)
    )
    axis = f'<text x="0" y="{PAD + 4}">{top}</text><text x="0" y="{H - PAD}">0</text>'
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'font-size="11" font-family="system-ui, sans-serif"><title>{escape(title)}</title>'
        f"{legend}{axis}{''.join(shapes)}</svg>"
    )
