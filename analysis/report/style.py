"""The report's one stylesheet, in a module of its own that imports nothing.

The web app allows it by hash in its Content-Security-Policy (``webapp.csp.REPORT_POLICY``) and computes
that hash when it starts; kept apart from the renderer, this costs the web processes no import of
pandas, matplotlib or scipy (about a second of CPU per process at startup).
"""

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
nav ol{columns:2} table.data{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.data th,table.data td{border-bottom:1px solid #e5e5e5;padding:.25em .6em;text-align:left;font-variant-numeric:tabular-nums}
table.data th{background:#f6f6f6}
figure{margin:1em 0} figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.caption{font-size:.85em;color:#555} .file{font-family:monospace;color:#888;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.4em .8em;margin:.5em 0;font-size:.9em}
.table{overflow-x:auto} pre{background:#f6f6f6;padding:.6em;font-size:.8em;overflow-x:auto}
"""
