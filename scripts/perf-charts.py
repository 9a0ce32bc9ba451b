#!/usr/bin/env python3
"""Draws the charts of docs/performance.md from the benchmarks' output, so they can be redrawn
after a new measurement:

    cargo bench -p crypt-model --bench cipher                       # criterion, into target/criterion
    (cd benches/esdk-compare && cargo run --release | tee results.txt)
    python3 scripts/perf-charts.py                                  # writes docs/charts/*.svg

Inputs: criterion's estimates (target/criterion/<group>/<benchmark>/new/estimates.json, the mean's
point estimate) and the comparison's report (benches/esdk-compare/results.txt). Output: plain SVG,
no dependency beyond Python's standard library. A missing input is an error naming the command
that makes it.
"""

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
ESDK = ROOT / "benches" / "esdk-compare" / "results.txt"
OUT = ROOT / "docs" / "charts"

FONT = "font-family='system-ui, sans-serif' font-size='12'"
COLORS = {"floor": "#9e9e9e", "engine": "#64b5f6", "derive": "#1565c0", "esdk": "#e57373",
          "esdk2": "#b71c1c", "enc": "#1565c0", "dec": "#64b5f6"}


def estimate_us(group, bench):
    path = CRITERION / group / bench / "new" / "estimates.json"
    if not path.exists():
        sys.exit(f"{path} is missing: run `cargo bench -p crypt-model --bench cipher` first")
    return json.loads(path.read_text())["mean"]["point_estimate"] / 1000.0


def esdk_results():
    if not ESDK.exists():
        sys.exit(f"{ESDK} is missing: run `cd benches/esdk-compare && cargo run --release | tee results.txt`")
    rows = {}
    for line in ESDK.read_text().splitlines():
        match = re.match(r"^(crypt-model|aws-db-esdk)(.*?)\s{2,}([\d.]+)\s+([\d.]+)\s", line)
        if match:
            rows[(match.group(1) + match.group(2)).strip()] = (float(match.group(3)), float(match.group(4)))
    return rows


def svg(width, height, body, title):
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' {FONT}>\n<title>{title}</title>\n"
            f"<rect width='100%' height='100%' fill='white'/>\n"
            f"<text x='10' y='20' font-size='14' font-weight='bold'>{title}</text>\n{body}</svg>\n")


def bars(title, rows, unit, scale_max=None, log=False, legend=None):
    """Horizontal bars: rows are (label, [(value, color, text)]) ; one bar per value."""
    import math
    label_w, bar_w, row_h = 250, 380, 18
    values = [v for _, series in rows for v, _, _ in series]
    top = scale_max or max(values) * 1.1
    bottom = min(values) / 2 if log else 0
    def length(v):
        if log:
            return bar_w * (math.log10(v) - math.log10(bottom)) / (math.log10(top) - math.log10(bottom))
        return bar_w * v / top
    y, body = 40, []
    if legend:
        x = label_w
        for name, color in legend:
            body.append(f"<rect x='{x}' y='{y - 10}' width='10' height='10' fill='{color}'/>"
                        f"<text x='{x + 14}' y='{y}'>{name}</text>")
            x += 14 + 7 * len(name) + 16
        y += 14
    for label, series in rows:
        body.append(f"<text x='{label_w - 8}' y='{y + row_h * len(series) / 2 + 4}' text-anchor='end'>{label}</text>")
        for value, color, text in series:
            w = max(1.0, length(value))
            body.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{row_h - 4}' fill='{color}'/>"
                        f"<text x='{label_w + w + 4:.1f}' y='{y + row_h - 7}'>{text}</text>")
            y += row_h
        y += 8
    axis = f"{unit}, logarithmic scale" if log else unit
    body.append(f"<text x='{label_w}' y='{y + 12}' fill='#555'>{axis}</text>")
    return svg(label_w + bar_w + 320, y + 24, "\n".join(body), title)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ref = {k: estimate_us("reference item", k) for k in
           ["encrypt_floor", "encrypt_engine", "decrypt_floor", "decrypt_engine"]}
    derive_enc = estimate_us("reference item, derive", "to_item")
    derive_dec = estimate_us("reference item, derive", "from_item + open")
    f = lambda v, base: f"{v:.2f} µs ({v / base:.2f}×)"
    floor = bars("The reference item against the cryptography it does (µs per item)", [
        ("encrypt", [(ref["encrypt_floor"], COLORS["floor"], f"{ref['encrypt_floor']:.2f} µs floor"),
                     (ref["encrypt_engine"], COLORS["engine"], f(ref["encrypt_engine"], ref["encrypt_floor"]) + " engine"),
                     (derive_enc, COLORS["derive"], f(derive_enc, ref["encrypt_floor"]) + " derive")]),
        ("decrypt", [(ref["decrypt_floor"], COLORS["floor"], f"{ref['decrypt_floor']:.2f} µs floor"),
                     (ref["decrypt_engine"], COLORS["engine"], f(ref["decrypt_engine"], ref["decrypt_floor"]) + " engine"),
                     (derive_dec, COLORS["derive"], f(derive_dec, ref["decrypt_floor"]) + " derive")]),
    ], "µs per item")
    (OUT / "floor.svg").write_text(floor)

    esdk = esdk_results()
    cm = next(v for k, v in esdk.items() if k.startswith("crypt-model"))
    nonsig = next(v for k, v in esdk.items() if "non-signing" in k)
    default = next(v for k, v in esdk.items() if "default suite" in k)
    rows = []
    for i, op in enumerate(["encrypt", "decrypt"]):
        rows.append((op, [(cm[i], COLORS["derive"], f"{cm[i]:.1f} µs crypt-model"),
                          (nonsig[i], COLORS["esdk"], f"{nonsig[i]:.0f} µs aws-db-esdk, non-signing ({nonsig[i] / cm[i]:.0f}×)"),
                          (default[i], COLORS["esdk2"], f"{default[i]:.0f} µs aws-db-esdk, ECDSA P-384 ({default[i] / cm[i]:.0f}×)")]))
    (OUT / "esdk.svg").write_text(bars("Against the AWS Database Encryption SDK (µs per item)", rows, "µs per item", log=True))

    fields = []
    for n in [1, 10, 50]:
        e, d = estimate_us("sensitive fields per item", f"encrypt_{n}"), estimate_us("sensitive fields per item", f"decrypt_{n}")
        fields.append((f"{n} sensitive field{'s' if n > 1 else ''} of 30 B",
                       [(e, COLORS["enc"], f"{e:.1f} µs encrypt"), (d, COLORS["dec"], f"{d:.1f} µs decrypt")]))
    (OUT / "fields.svg").write_text(bars("Cost by the number of sensitive fields (µs per item)", fields, "µs per item"))

    sizes = []
    for size, nbytes in [("1 KB", 1024), ("10 KB", 10240), ("100 KB", 102400)]:
        e = estimate_us("one sensitive field", f"encrypt_{size}")
        sizes.append((f"one field of {size}", [(e, COLORS["enc"], f"{e:.1f} µs ({nbytes / e / 1.048576:.0f} MiB/s)")]))
    (OUT / "sizes.svg").write_text(bars("Cost by the size of a sensitive field (µs per item, encrypt)", sizes,
                                        "µs per item", log=True))
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('*.svg')))} in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
