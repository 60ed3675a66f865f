#!/usr/bin/env python3
"""Checks of the report's HTML page as Chromium rendered it (t820).

  html_check.py expect REPORT.json
      the charts the report should give, from its JSON alone: "N KIND..."
      (a bar chart when any task ran; a line chart per capacity or trend
      entry whose series has two usable [time, value] pairs), in page order
  html_check.py static PAGE.html
      nothing to fetch: no script, no URL, no src, no @import or url()
  html_check.py dom DOM.html --charts N [--text STRING]...
      the DOM Chromium parsed (--dump-dom): N figure.chart, each with one
      <svg role="img"> that has a viewBox, a non-empty <title> and <desc>,
      and marks (a path with points, a rect with a width); a non-empty
      figcaption; no script element, no on* attribute, no src, no link out;
      each STRING in the page's text (so escaped markup reads as text)
  html_check.py bands PAGE.html OUT.html
      OUT: the page with a style that shows only the charts, each in a band
      of 720x330 px; prints "WIDTHxHEIGHT KIND..." to screenshot it at
  html_check.py png-bands SHOT.png [KIND...]
      each band of that screenshot drawn: ink, several colours, and the
      chart's own colour (a line chart's series blue inside its plot area,
      where the legend is not; a bar chart's green); nothing drawn below
      the last band (with no KIND, nothing drawn at all)
  html_check.py png SHOT.png [--min-ink F] [--min-colours N]
      the full page not blank: enough non-white pixels, enough colours
  html_check.py pdf FILE.pdf --min-pages N
      a PDF with at least N pages

Exit 0 when every check holds, 1 with one line per problem on stdout.
"""
import html.parser
import json
import math
import re
import sys

BAND_W, BAND_H = 720, 330
# A line chart's plot area in its band (report_html.c: PL, PT, CW - PR, CH - PB).
PLOT = (84, 34, 676, 248)
SERIES_BLUE = (0x15, 0x65, 0xc0)
OK_GREEN = (0x2e, 0x7d, 0x32)
T_MAX = 253402300799
V_MAX = 1e100


def fail(problems):
    """Print the problems and exit 1; nothing when there are none."""
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)


# ---- expect ----

def usable(series):
    n = 0
    for p in series if isinstance(series, list) else []:
        if (isinstance(p, list) and len(p) >= 2 and all(isinstance(x, (int, float)) and
                                                        not isinstance(x, bool) for x in p[:2])
                and math.isfinite(p[0]) and math.isfinite(p[1])
                and 0 <= p[0] <= T_MAX and abs(p[1]) <= V_MAX):
            n += 1
    return n


def expect(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        r = json.load(f)
    kinds = []
    statuses = ('ok', 'warning', 'critical', 'failed', 'interrupted', 'skipped')
    if any(max(0, t.get(s) or 0) > 0 for t in r.get('tasks') or [] for s in statuses):
        kinds.append('bar')
    for sec in ('capacity', 'trends'):
        kinds += ['line' for e in r.get(sec) or [] if usable(e.get('series')) >= 2]
    print(len(kinds), *kinds)


# ---- static ----

def static(path):
    with open(path, encoding='utf-8') as f:
        page = f.read()
    bad = []
    for pat, what in ((r'(?i)<script', 'a <script> element'), (r'(?i)https?:', 'a URL'),
                      (r'(?i)\bsrc\s*=', 'a src attribute'), (r'(?i)@import', '@import'),
                      (r'(?i)url\(', 'url()'), (r'(?i)<link', 'a <link> element'),
                      (r'(?i)@font-face', 'a web font'), (r'(?i)\son[a-z]+\s*=', 'an event handler')):
        m = re.search(pat, page)
        if m:
            bad.append(f'{what} in the page: ...{page[max(0, m.start() - 30):m.end() + 30]!r}...')
    for m in re.finditer(r'(?i)href\s*=\s*"([^"]*)"', page):
        if not m.group(1).startswith('#'):
            bad.append(f'a link out of the page: {m.group(1)!r}')
    fail(bad)


# ---- dom ----

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figs = []
        self.fig = None
        self.cap = None    # name of the element whose text is collected
        self.bad = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k, v in attrs:
            if k.startswith('on'):
                self.bad.append(f'an event handler attribute {k} on <{tag}>')
            if k in ('src', 'srcset'):
                self.bad.append(f'<{tag} {k}={v!r}>')
            if k in ('href', 'xlink:href') and not (v or '').startswith('#'):
                self.bad.append(f'<{tag} {k}={v!r}> links out of the page')
        if tag in ('script', 'iframe', 'object', 'embed', 'link', 'img'):
            self.bad.append(f'a <{tag}> element')
        if tag == 'figure' and 'chart' in (a.get('class') or '').split():
            self.fig = {'svgs': 0, 'role': 0, 'viewbox': 0, 'title': '', 'desc': '',
                        'caption': '', 'marks': 0, 'nan': 0}
            self.figs.append(self.fig)
        if self.fig is None:
            return
        f = self.fig
        if tag == 'svg':
            f['svgs'] += 1
            f['role'] += a.get('role') == 'img'
            f['viewbox'] += bool(re.fullmatch(r'0 0 \d+(\.\d+)? \d+(\.\d+)?', a.get('viewbox') or ''))
        elif tag in ('title', 'desc', 'figcaption'):
            # the first of each is the chart's (a bar's own <title> comes later)
            key = {'figcaption': 'caption'}.get(tag, tag)
            self.cap = None if f[key] else key
        elif tag == 'path':
            d = a.get('d') or ''
            f['nan'] += 'nan' in d.lower() or 'inf' in d.lower()
            if len(re.findall(r'-?\d+(?:\.\d+)?', d)) >= 4 and a.get('class') != 'limit':
                f['marks'] += 1
        elif tag == 'rect' and a.get('class') != 'plot':
            try:
                f['marks'] += float(a.get('width') or 0) > 0 and float(a.get('height') or 0) > 0
            except ValueError:
                f['nan'] += 1
        for k in ('x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'width', 'height'):
            if k in a and not re.fullmatch(r'-?\d+(\.\d+)?', a[k] or ''):
                f['nan'] += 1

    def handle_endtag(self, tag):
        if tag == 'figure':
            self.fig = None
        if tag in ('title', 'desc', 'figcaption'):
            self.cap = None

    def handle_data(self, data):
        self.text.append(data)
        if self.fig is not None and self.cap:
            self.fig[self.cap] += data


def dom(path, charts, texts):
    with open(path, encoding='utf-8') as f:
        page = f.read()
    p = Dom()
    p.feed(page)
    bad = list(p.bad)
    if len(p.figs) != charts:
        bad.append(f'{len(p.figs)} figure.chart in the DOM, expected {charts}')
    for i, f in enumerate(p.figs, 1):
        where = f'chart {i} ({f["title"][:50]!r})'
        if f['svgs'] != 1 or f['role'] != 1 or f['viewbox'] != 1:
            bad.append(f'{where}: {f["svgs"]} svg, {f["role"]} role=img, {f["viewbox"]} viewBox; expected 1 each')
        for k in ('title', 'desc', 'caption'):
            if not f[k].strip():
                bad.append(f'{where}: empty {k}')
        if f['marks'] < 1:
            bad.append(f'{where}: nothing drawn (no path with points, no rect with a width)')
        if f['nan']:
            bad.append(f'{where}: {f["nan"]} coordinates that are not numbers')
    body = ''.join(p.text)
    for t in texts:
        if t not in body:
            bad.append(f'the page text lacks {t!r}')
    fail(bad)


# ---- bands ----

BAND_CSS = f"""<style>
html,body{{margin:0;padding:0;max-width:none;background:#fff}}
header,nav,footer,p,h1,h2,h3,table,ul,figcaption{{display:none}}
main,section{{display:block;margin:0;padding:0}}
figure.chart{{display:block;width:{BAND_W}px;height:{BAND_H}px;margin:0;padding:0;overflow:hidden;
break-inside:auto}}
figure.chart svg{{width:{BAND_W}px;max-width:none}}
</style>
</head>"""


def bands(path, out):
    with open(path, encoding='utf-8') as f:
        page = f.read()
    kinds = []
    for m in re.finditer(r'<figure class="chart".*?</figure>', page, re.S):
        kinds.append('line' if 'class="series"' in m.group(0) else 'bar')
    if '</head>' not in page:
        fail(['the page has no </head>'])
    with open(out, 'w', encoding='utf-8') as f:
        f.write(page.replace('</head>', BAND_CSS, 1))
    print(f'{BAND_W}x{max(1, len(kinds)) * BAND_H}', *kinds)


# ---- png ----

def load(path):
    from PIL import Image
    im = Image.open(path).convert('RGB')
    return im


def near(c, ref, tol=60):
    return sum((a - b) ** 2 for a, b in zip(c, ref)) <= tol * tol


def measure(im, box=None):
    """(ink fraction, distinct coarse colours, series-blue px, green px) of box."""
    region = im.crop(box) if box else im
    w, h = region.size
    ink = blue = green = 0
    colours = set()
    for (r, g, b) in region.getdata():
        if r > 235 and g > 235 and b > 235:
            continue
        ink += 1
        colours.add((r >> 5, g >> 5, b >> 5))
        if near((r, g, b), SERIES_BLUE):
            blue += 1
        if near((r, g, b), OK_GREEN):
            green += 1
    return ink / max(1, w * h), len(colours), blue, green


def png(path, min_ink, min_colours):
    im = load(path)
    ink, colours, _, _ = measure(im)
    bad = []
    if ink < min_ink:
        bad.append(f'{path}: {ink:.4f} of the pixels drawn, expected at least {min_ink}')
    if colours < min_colours:
        bad.append(f'{path}: {colours} colours, expected at least {min_colours}')
    fail(bad)
    print(f'ink {ink:.4f}, {colours} colours')


def png_bands(path, kinds):
    im = load(path)
    w, h = im.size
    bad = []
    if h < len(kinds) * BAND_H:
        fail([f'{path}: {h} px high, {len(kinds)} bands need {len(kinds) * BAND_H}'])
    for i, kind in enumerate(kinds):
        top = i * BAND_H
        ink, colours, _, green = measure(im, (0, top, min(w, BAND_W), top + BAND_H))
        _, _, blue, _ = measure(im, (PLOT[0], top + PLOT[1], PLOT[2], top + PLOT[3]))
        where = f'band {i + 1} ({kind})'
        if ink < 0.01:
            bad.append(f'{where}: {ink:.4f} of its pixels drawn, looks blank')
        if colours < 4:
            bad.append(f'{where}: {colours} colours, expected at least 4')
        if kind == 'line' and blue < 40:
            bad.append(f'{where}: {blue} pixels of the series colour in the plot, expected a line (40+)')
        if kind == 'bar' and green < 100:
            bad.append(f'{where}: {green} pixels of the ok colour, expected bars (100+)')
        print(f'{where}: ink {ink:.3f}, {colours} colours, blue {blue}, green {green}')
    if h > len(kinds) * BAND_H:
        ink, _, _, _ = measure(im, (0, len(kinds) * BAND_H, w, h))
        if ink > 0.001:
            bad.append(f'something drawn below the {len(kinds)} bands ({ink:.4f})')
    fail(bad)


def pdf(path, min_pages):
    with open(path, 'rb') as f:
        data = f.read()
    bad = []
    if not data.startswith(b'%PDF-'):
        fail([f'{path} is not a PDF'])
    pages = len(re.findall(rb'/Type\s*/Page(?![a-zA-Z])', data))
    if pages < min_pages:
        bad.append(f'{path}: {pages} pages, expected at least {min_pages}')
    fail(bad)
    print(f'{pages} pages')


def main(argv):
    if len(argv) < 2:
        fail([__doc__.strip()])
    cmd, args = argv[1], argv[2:]
    if cmd == 'expect' and len(args) == 1:
        return expect(args[0])
    if cmd == 'static' and len(args) == 1:
        return static(args[0])
    if cmd == 'dom' and len(args) >= 3 and args[1] == '--charts':
        texts = [args[i + 1] for i in range(3, len(args) - 1, 2) if args[i] == '--text']
        return dom(args[0], int(args[2]), texts)
    if cmd == 'bands' and len(args) == 2:
        return bands(args[0], args[1])
    if cmd == 'png-bands' and len(args) >= 1:
        return png_bands(args[0], args[1:])
    if cmd == 'png' and len(args) >= 1:
        min_ink, min_colours = 0.02, 6
        i = 1
        while i < len(args):
            if args[i] == '--min-ink':
                min_ink = float(args[i + 1]); i += 2
            elif args[i] == '--min-colours':
                min_colours = int(args[i + 1]); i += 2
            else:
                fail([f'unknown option {args[i]!r}'])
        return png(args[0], min_ink, min_colours)
    if cmd == 'pdf' and len(args) == 3 and args[1] == '--min-pages':
        return pdf(args[0], int(args[2]))
    fail([f'usage: see {argv[0]} (bad arguments: {" ".join(argv[1:])})'])


if __name__ == '__main__':
    main(sys.argv)
