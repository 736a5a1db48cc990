"""Markdown and HTML renderings of the evidence: one table per story.

The tables are what a candidate walks an interviewer through: the story's
claim, the figure it states, what this run measured, pass/fail, how it was
measured and the command that reproduces it. The HTML page is self-contained
(inline CSS, plots as base64 PNGs) so it can be mailed or opened offline.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path

from starlab.evidence.claim import Claim, Status
from starlab.evidence.star import claim_anchor
from starlab.evidence.store import StoryRecord

__all__ = ["assign_plots", "counts", "render_html", "render_markdown"]

_LABEL = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_MEASURED: "NOT MEASURED"}
_INTRO = (
    "Each row puts a figure the story claims next to the value this run measured, "
    "how it was measured and the command that reproduces it. "
    "A claim without a measurement is NOT MEASURED, never a pass."
)


def counts(records: Sequence[StoryRecord]) -> dict[Status, int]:
    """How many claims passed, failed and were not measured."""
    result = dict.fromkeys(Status, 0)
    for r in records:
        for c in r.claims:
            result[c.status] += 1
    return result


def _summary(records: Sequence[StoryRecord]) -> str:
    n = counts(records)
    total = sum(n.values())
    return (
        f"{total} claims: {n[Status.PASS]} pass, {n[Status.FAIL]} fail, "
        f"{n[Status.NOT_MEASURED]} not measured."
    )


def _provenance(r: StoryRecord) -> str:
    commit = r.git_commit[:12] if r.git_commit else "unknown commit"
    where = f" on the {r.topology} topology" if r.topology else ""
    return f"Recorded {r.recorded_at or 'at an unknown time'} from {commit}{where}."


def assign_plots(plots: Sequence[Path], stories: Sequence[str]) -> dict[str | None, list[Path]]:
    """Group plots by the story their file name starts with (longest match); None = other."""
    by_length = sorted(stories, key=len, reverse=True)
    groups: dict[str | None, list[Path]] = {}
    for p in plots:
        owner = next((s for s in by_length if p.stem.startswith(s)), None)
        groups.setdefault(owner, []).append(p)
    return groups


# --- Markdown ------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    # A pipe ends a cell and a newline ends the row in GitHub tables.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _md_code(text: str) -> str:
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{_md_cell(text)}{pad}{fence}"


def render_markdown(
    records: Sequence[StoryRecord], generated_at: str, plots: Sequence[Path] = (), environment: str = ""
) -> str:
    """evidence.md: a summary line, then per story a table claim | claimed | measured | ..."""
    lines = [
        "# starlab evidence report",
        "",
        f"Generated {generated_at}. {_summary(records)}",
        "",
        *([environment, ""] if environment else []),
        _INTRO,
        "",
    ]
    groups = assign_plots(plots, [r.story for r in records])
    for r in records:
        lines += [f"## {r.story}", "", _provenance(r), ""]
        lines += [
            "| claim | claimed | measured | pass | how | command |",
            "|---|---|---|---|---|---|",
        ]
        anchors = _anchors(r.claims)
        for c in r.claims:
            anchor = anchors.get(id(c))
            lines.append(
                "| "
                + " | ".join(
                    [
                        (f'<a id="{anchor}"></a>' if anchor else "") + _md_cell(c.claim),
                        _md_cell(c.claimed_text()),
                        _md_cell(c.measured_text()),
                        _LABEL[c.status],
                        _md_cell(c.method),
                        _md_code(c.command),
                    ]
                )
                + " |"
            )
        lines.append("")
        for p in groups.get(r.story, []):
            lines += [f"![{p.stem}](plots/{p.name})", ""]
    if groups.get(None):
        lines += ["## Other plots", ""]
        for p in groups[None]:
            lines += [f"![{p.stem}](plots/{p.name})", ""]
    return "\n".join(lines)


# --- HTML ----------------------------------------------------------------------------

_CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; }
.summary span { display: inline-block; padding: .15rem .6rem; border-radius: 1rem;
                margin-right: .4rem; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0 1rem; }
th, td { border: 1px solid #d0d7de; padding: .35rem .55rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa;
       padding: .1rem .3rem; border-radius: 4px; word-break: break-all; }
tr.pass td.status, .summary .pass { background: #dafbe1; color: #116329; }
tr.fail td.status, .summary .fail { background: #ffebe9; color: #a40e26; }
tr.not-measured td.status, .summary .not-measured { background: #eaeef2; color: #57606a; }
tr.fail { background: #fff8f7; }
td.status { font-weight: 700; white-space: nowrap; }
details pre { font-size: 12px; background: #f6f8fa; padding: .5rem; overflow-x: auto; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 13px; }
"""


def _css_class(status: Status) -> str:
    return status.value.replace(" ", "-")


def _anchors(claims: Sequence[Claim]) -> dict[int, str]:
    """The claim a STAR script links to per metric (the first with it) -> its anchor, by object id."""
    seen: dict[str, int] = {}
    for c in claims:
        seen.setdefault(claim_anchor(c.story, c.metric), id(c))
    return {obj: anchor for anchor, obj in seen.items()}


def _html_row(c: Claim, anchor: str | None = None) -> str:
    e = html.escape
    how = e(c.method)
    if c.details:
        pretty = json.dumps(c.to_dict()["details"], indent=2, ensure_ascii=False)
        how += f"<details><summary>details</summary><pre>{e(pretty)}</pre></details>"
    cmd = f"<code>{e(c.command)}</code>" if c.command else ""
    return (
        f'<tr class="{_css_class(c.status)}"' + (f' id="{e(anchor)}"' if anchor else "") + ">"
        f'<td>{e(c.claim)}<br><small class="meta">{e(c.metric)}</small></td>'
        f'<td class="num">{e(c.claimed_text())}</td>'
        f'<td class="num">{e(c.measured_text())}</td>'
        f'<td class="status">{_LABEL[c.status]}</td>'
        f"<td>{how}</td><td>{cmd}</td></tr>"
    )


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.stem)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{name}">'
        f"<figcaption>{name}</figcaption></figure>"
    )


def render_html(
    records: Sequence[StoryRecord], generated_at: str, plots: Sequence[Path] = (), environment: str = ""
) -> str:
    """evidence.html: the same tables, pass/fail coloured, PNG plots embedded as base64."""
    e = html.escape
    n = counts(records)
    badges = "".join(f'<span class="{_css_class(s)}">{n[s]} {e(s.value)}</span>' for s in Status)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>starlab evidence report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>starlab evidence report</h1>",
        f'<p class="meta">Generated {e(generated_at)}. {e(_summary(records))}</p>',
        f'<p class="summary">{badges}</p>',
        *([f'<p class="meta">{e(environment)}</p>'] if environment else []),
        f"<p>{e(_INTRO)}</p>",
    ]
    groups = assign_plots(plots, [r.story for r in records])
    for r in records:
        parts.append(f'<section id="{e(r.story)}"><h2>{e(r.story)}</h2>')
        parts.append(f'<p class="meta">{e(_provenance(r))}</p>')
        parts.append(
            "<table><thead><tr><th>claim</th><th>claimed</th><th>measured</th>"
            "<th>pass</th><th>how</th><th>command</th></tr></thead><tbody>"
        )
        anchors = _anchors(r.claims)
        parts.extend(_html_row(c, anchors.get(id(c))) for c in r.claims)
        parts.append("</tbody></table>")
        parts.extend(_figure(p) for p in groups.get(r.story, []))
        parts.append("</section>")
    if groups.get(None):
        parts.append('<section id="other-plots"><h2>Other plots</h2>')
        parts.extend(_figure(p) for p in groups[None])
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
