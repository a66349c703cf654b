"""Render a GitHub job summary (GitHub-flavoured markdown) to a standalone
HTML page styled like github.com, for a headless-browser screenshot.

Usage: python render_summary.py SUMMARY.md OUT.html

Uses markdown-it-py (pinned in test/judges/requirements.txt) with tables and
strikethrough, as GitHub renders job summaries; GitHub's alert blockquotes
(> [!CAUTION]) are styled as GitHub shows them.
"""
import html
import re
import sys

from markdown_it import MarkdownIt

CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 14px; line-height: 1.5; color: #1f2328; background: #f6f8fa; margin: 0; padding: 24px; }
.summary { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; max-width: 1400px; }
.summary > .title { font-size: 12px; color: #59636e; border-bottom: 1px solid #d1d9e0; margin: -16px -24px 16px; padding: 8px 24px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 8px 0 16px; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 85%;
       background: rgba(129,139,152,.12); border-radius: 6px; padding: .2em .4em; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45; }
pre code { background: none; padding: 0; font-size: 100%; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; background: #f6f8fa; }
tr:nth-child(2n) td { background: #f6f8fa; }
a { color: #0969da; text-decoration: none; }
details { margin: 0 0 16px; } summary { cursor: pointer; }
.alert { border-left: .25em solid #d1242f; padding: 8px 16px; margin: 0 0 16px; }
.alert-title { color: #d1242f; font-weight: 600; }
"""


def render(md_text: str) -> str:
    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    body = md.render(md_text)
    body = re.sub(
        r"<blockquote>\s*<p>\[!(CAUTION|WARNING|NOTE)\]\s*",
        lambda m: '<div class="alert"><p><span class="alert-title">' + m.group(1).title() + "</span><br>",
        body,
    )
    body = body.replace("</blockquote>", "</div>").replace("<details>", "<details open>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Job summary</title>"
        f"<style>{CSS}</style></head><body><div class='summary'>"
        f"<div class='title'>{html.escape('attest-publish summary')}</div>{body}</div></body></html>"
    )


def main() -> int:
    src, out = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    with open(out, "w", encoding="utf-8") as f:
        f.write(render(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
