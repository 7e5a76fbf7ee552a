"""Views of a lab for people: the live ``lab watch`` frame, ladder (sequence) diagrams,
client state timelines and the self-contained HTML report.

Everything here reads the trace (``<run_dir>/traces/*.jsonl``, DESIGN.md "Trace
events") and, for a running lab, the supervisor's status; nothing here changes a lab.

- :mod:`lab.observe.rundata` — a run directory (or a folder of artefacts) as data.
- :mod:`lab.observe.ladder` — pure: trace events → ladder → text / Mermaid / SVG.
- :mod:`lab.observe.captures` — does every captured packet appear in the ladder?
- :mod:`lab.observe.timeline` — per-client state strips with T1/T2/expiry markers.
- :mod:`lab.observe.topology` — the topology drawing (Graphviz, or a plain SVG).
- :mod:`lab.observe.watch` — the terminal frame of ``lab watch``.
- :mod:`lab.observe.report` — ``lab report``: one HTML page (jinja2, inline SVG/CSS).
"""
