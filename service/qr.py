"""QR codes as inline SVG, drawn on the server with the `qrcode` package (no script, no image file)."""

import re
from functools import lru_cache

import qrcode
import qrcode.constants
from markupsafe import Markup, escape
from qrcode.image.svg import SvgPathImage

_SIZE_ATTRIBUTES = re.compile(r'\s(?:width|height)="[^"]*"')


@lru_cache(maxsize=256)
def qr_svg(url: str, label: str, css_class: str = "qr") -> Markup:
    """An `<svg>` QR code of `url` (quiet zone included, white background), labelled for screen readers.

    The size comes from CSS (`.qr`), so the same code serves a phone page and the 1080p stage.
    """
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    code.add_data(url)
    code.make(fit=True)
    svg = code.make_image().to_string(encoding="unicode")
    svg = _SIZE_ATTRIBUTES.sub("", svg, count=2)
    view_box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    side = view_box.group(1) if view_box else "0"
    opening = (
        f'<svg class="{escape(css_class)}" role="img" aria-label="{escape(label)}" focusable="false"'
        f' shape-rendering="crispEdges"'
    )
    svg = svg.replace("<svg", opening, 1)
    svg = re.sub(r"(<svg[^>]*>)", rf'\1<rect width="{side}" height="{side}" fill="#fff"/>', svg, count=1)
    svg = svg.replace(' id="qr-path"', "")  # two codes on one page must not share an id
    return Markup(svg)  # noqa: S704  (built here from escaped parts and qrcode's own SVG)
