"""A small SVG writer: enough shapes and text for ladders, timelines and plain topology
drawings, escaped properly, no dependencies, nothing fetched (fonts are generic
families the browser already has)."""

from __future__ import annotations

from html import escape

SANS = "Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"


def esc(text: object) -> str:
    return escape(str(text), quote=True)


def text_width(text: str, size: float, mono: bool = True) -> float:
    """An estimate of the rendered width (monospace: 0.6 em a character)."""
    return len(text) * size * (0.6 if mono else 0.55)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v)


class Svg:
    def __init__(self, width: float, height: float, *, cls: str = "", label: str = "") -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []
        self.cls, self.label = cls, label

    def raw(self, fragment: str) -> None:
        self.parts.append(fragment)

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str = "none",
             stroke: str | None = None, rx: float = 0, title: str | None = None,
             cls: str | None = None, opacity: float | None = None) -> None:  # fmt: skip
        attrs = f'x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0.0))}" height="{_num(h)}" fill="{fill}"'
        if stroke:
            attrs += f' stroke="{stroke}"'
        if rx:
            attrs += f' rx="{_num(rx)}"'
        if cls:
            attrs += f' class="{esc(cls)}"'
        if opacity is not None:
            attrs += f' fill-opacity="{opacity}"'
        if title:
            self.parts.append(f"<rect {attrs}><title>{esc(title)}</title></rect>")
        else:
            self.parts.append(f"<rect {attrs}/>")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = "#000",
             width: float = 1.0, dash: str | None = None, marker: str | None = None,
             title: str | None = None) -> None:  # fmt: skip
        attrs = (f'x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
                 f'stroke="{stroke}" stroke-width="{_num(width)}"')  # fmt: skip
        if dash:
            attrs += f' stroke-dasharray="{dash}"'
        if marker:
            attrs += f' marker-end="{marker}"'
        if title:
            self.parts.append(f"<line {attrs}><title>{esc(title)}</title></line>")
        else:
            self.parts.append(f"<line {attrs}/>")

    def text(self, x: float, y: float, text: str, *, size: float = 11, anchor: str = "start",
             fill: str = "#212529", weight: str | None = None, mono: bool = False,
             halo: bool = False, title: str | None = None) -> None:  # fmt: skip
        attrs = (f'x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" '
                 f'font-family="{MONO if mono else SANS}" fill="{fill}"')  # fmt: skip
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if halo:  # a white outline under the glyphs keeps text readable over lines
            attrs += (
                ' stroke="#ffffff" stroke-width="3" paint-order="stroke" stroke-linejoin="round"'
            )
        inner = esc(text) + (f"<title>{esc(title)}</title>" if title else "")
        self.parts.append(f"<text {attrs}>{inner}</text>")

    def open_group(self, *, cls: str | None = None, title: str | None = None,
                   transform: str | None = None) -> None:  # fmt: skip
        attrs = ""
        if cls:
            attrs += f' class="{esc(cls)}"'
        if transform:
            attrs += f' transform="{transform}"'
        self.parts.append(f"<g{attrs}>" + (f"<title>{esc(title)}</title>" if title else ""))

    def close_group(self) -> None:
        self.parts.append("</g>")

    def render(self) -> str:
        w, h = _num(float(self.width)), _num(float(self.height))
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
                f'viewBox="0 0 {w} {h}" role="img"')  # fmt: skip
        if self.cls:
            head += f' class="{esc(self.cls)}"'
        if self.label:
            head += f' aria-label="{esc(self.label)}"'
        return head + ">" + "".join(self.parts) + "</svg>\n"
