"""The postmortem's Markdown file shows what people typed as the text they typed (issue 29, 5).

Each hostile text goes everywhere text reaches the file: every section of the Edit modal, an
action item and its owner, a message added to the timeline, and the draft opsbot made (its
title, log lines and commit messages). The file is read by a CommonMark renderer (markdown-it-py,
GFM's tables and strikethrough on as well): its HTML holds no tag, link, image or heading of
anyone's but the template's, and each piece of text reads as it was typed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from commands.postmortem.model import HEADINGS, Document, Draft, TimelineEvent
from commands.postmortem.render import markdown
from store.postmortem_views import SECTIONS, ActionItemView, AddedEvent, PostmortemView

T0 = datetime(2026, 2, 5, 17, 40, tzinfo=UTC)
TODAY = date(2026, 2, 5)
PEOPLE_SECTIONS = {  # the section names people edit → the file's headings
    "impact": "Impact",
    "summary": "Summary",
    "root_cause": "Root Cause",
    "resolution": "Resolution",
    "prevention": "Prevention",
}
assert set(PEOPLE_SECTIONS) == set(SECTIONS)
FORGED_OWNER = "U0SAMDEPLY> <!channel"

HOSTILE = {
    "script": "<script>alert(document.cookie)</script>",
    "img onerror": '<img src=x onerror="alert(1)">',
    "javascript link": "[the runbook](javascript:alert(1))",
    "remote image": "![x](https://evil.example/x.png)",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "forged heading": "## Root Cause\nThe intern did it.",
    "forged setext heading": "Root Cause\n----------\nThe intern did it.",
    "autolinks": "<https://evil.example/a> <javascript:alert(1)> https://evil.example/b www.evil.example",
    "reference link": "[runbook]\n\n[runbook]: https://evil.example/\n[x]: javascript:alert(1)",
    "entities": "&lt;script&gt; &#60;img src=x onerror=alert(1)&#62; &amp; &copy",
    "html comment and tags": "<!-- hidden --> <b>bold</b> <a href='javascript:x'>y</a>",
    "blocks": (
        "> quoted\n1. first\n2) second\n- dash\n+ plus\n* star\n```html\n<script>x</script>\n```\n"
        "~~~\n    indented code\n| a | b |\n|---|---|\n***\n___\n===\n#hashtag"
    ),
    "inline": "*bold?* _em_ __strong__ `code` ~~struck~~ $x$ a\\*b\\ snake_case done ##",
    "paragraphs": "First line\n  second, indented\n\n\n\tthird after blank lines  ",
}


def renderer() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.found.append(("!--", []))


def tags_of(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element (and comment) the HTML holds, with its attributes."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.found


def as_typed(text: str) -> str:
    """What a reader sees of a section: its lines (spaces collapsed, none indented), a blank
    line between paragraphs."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in [*text.replace("\x00", "\ufffd").splitlines(), ""]:
        words = " ".join(line.split())
        if words:
            lines.append(words)
        elif lines:
            paragraphs.append("\n".join(lines))
            lines = []
    return "\n\n".join(paragraphs)


def _one_line(text: str) -> str:
    return " ".join(text.replace("\x00", "\ufffd").split())


def shown(inline: Token) -> str:
    """An inline token's text as a reader sees it; only text and line breaks allowed in it."""
    kinds = {child.type for child in inline.children or []}
    assert kinds <= {"text", "softbreak", "hardbreak"}, (kinds, inline.content)
    return "".join(
        "\n" if child.type in ("softbreak", "hardbreak") else child.content
        for child in inline.children or []
    )


def sections_of(tokens: list[Token]) -> dict[str, list[Token]]:
    """Each `##` heading's text → the tokens under it."""
    found: dict[str, list[Token]] = {}
    current: list[Token] | None = None
    heading = False
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h1", "h2"):
            current = found.setdefault(tokens[index + 1].content, []) if token.tag == "h2" else None
            heading = True
        elif token.type == "heading_close" and heading:
            heading = False
        elif current is not None and not heading:
            current.append(token)
    return found


def paragraphs_only(tokens: list[Token]) -> str:
    """A section people wrote: paragraphs of plain text and nothing else; its text."""
    kinds = {t.type for t in tokens}
    assert kinds <= {"paragraph_open", "inline", "paragraph_close"}, kinds
    return "\n\n".join(shown(t) for t in tokens if t.type == "inline")


def reading(tokens: list[Token]) -> list[str]:
    """A section opsbot prefilled, line by line as a reader sees it: paragraphs of text and
    opsbot's own bullets (`- ` and text), nothing else, nothing nested."""
    kinds = {t.type for t in tokens}
    allowed = {"paragraph", "bullet_list", "list_item"}
    assert kinds <= {"inline"} | {f"{k}_{end}" for k in allowed for end in ("open", "close")}
    lines: list[str] = []
    depth = 0
    for token in tokens:
        depth += token.nesting if token.type.startswith("list_item") else 0
        assert depth <= 1, "a list inside a list"
        if token.type == "inline":
            text = shown(token)
            lines += [f"- {text}"] if depth else text.split("\n")
    return lines


def _draft(text: str) -> Draft:
    """A draft whose every piece of text opsbot did not write is `text`: the title, a log line
    and a commit message in the timeline, the impact, the prefilled sections."""
    return Draft(
        kind="rollout",
        subject="rollout:3",
        title=text,
        started=T0,
        recovered=T0 + timedelta(minutes=12),
        severity="SEV4",
        severity_because="no severity rule matched: the profile's default",
        impact=[text],
        timeline=[
            TimelineEvent(T0, "logs", text),
            TimelineEvent(T0 + timedelta(minutes=12), "git", text, "U0SAMDEPLY"),
        ],
        sections={name: text for name in SECTIONS if name != "impact"},
    )


def _stored(text: str, owner: str = FORGED_OWNER) -> PostmortemView:
    """A postmortem where people typed `text` in every section, an action item and a message
    added to the timeline."""
    return PostmortemView(
        id=1,
        subject="rollout:3",
        kind="rollout",
        title="t",
        severity="SEV3",
        status="draft",
        document=_draft(text).to_json(),
        sections=dict.fromkeys(SECTIONS, text),
        incident_start=T0,
        incident_end=None,
        created_by="U0DANAONCL",
        created_at=T0,
        updated_at=T0,
        slack_channel=None,
        slack_ts=None,
        version=2,
        events=(AddedEvent(1, T0 + timedelta(minutes=5), "U0LEEAPPRV", text, None, "U0X"),),
        items=(ActionItemView(1, 1, text, owner, date(2026, 2, 10), "open", ""),),
    )


def _check_file(doc: Document, text: str) -> dict[str, Any]:
    """The file of `doc`, where `text` is everything people or the platform wrote: no HTML,
    link, image or heading of theirs, each piece shown as typed. What the renderer made of it."""
    source = markdown(doc, "America/Los_Angeles", TODAY)
    parser = renderer()
    html = parser.render(source)
    for forbidden in ("<script", "<img", "<iframe", 'href="javascript:'):
        assert forbidden not in html.lower(), (forbidden, source)
    tags = tags_of(html)  # the template's only, none with an attribute (no href, no src)
    assert {tag for tag, _ in tags} <= {"h1", "p", "em", "h2", "ul", "li", "br"}, source
    assert not [attrs for _, attrs in tags if attrs]
    assert [tag for tag, _ in tags].count("em") == 1  # the status line, `_Draft · rollout:3_`
    assert [tag for tag, _ in tags].count("h1") == 1
    assert [h.split("</h2>")[0] for h in html.split("<h2>")[1:]] == list(HEADINGS)

    tokens = parser.parse(source)
    title = tokens[[t.type for t in tokens].index("heading_open") + 1]
    assert shown(title) == f"Postmortem: {_one_line(text)}"
    sections = sections_of(tokens)
    assert list(sections) == list(HEADINGS)
    for name, heading in PEOPLE_SECTIONS.items():
        if name in doc.edited:
            assert paragraphs_only(sections[heading]) == as_typed(doc.sections[name]), heading
        else:  # opsbot's prefill: its `- ` lines may stay a list, all of it text
            typed = [line for line in as_typed(doc.sections[name]).split("\n") if line]
            assert reading(sections[heading]) == typed, heading
    lines = {
        heading: [shown(t) for t in sections[heading] if t.type == "inline"]
        for heading in ("Timeline", "Action Items")
    }
    return {"lines": lines, "html": html}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_what_people_typed_reads_as_typed_in_the_markdown_file(text: str) -> None:
    doc = Document.of(_stored(text))
    assert all(doc.sections[name] == text for name in SECTIONS)  # people's, over the draft's
    lines = _check_file(doc, text)["lines"]
    one = _one_line(text)
    assert f"[ ] {one} — owner @{FORGED_OWNER}, due 2026-02-10" in lines["Action Items"]
    timeline = lines["Timeline"]
    assert any(line.endswith(f" · slack · by @U0LEEAPPRV · {one}") for line in timeline)
    assert any(line.endswith(f" · logs · {one}") for line in timeline)
    assert any(line.endswith(f" · git · by @U0SAMDEPLY · {one}") for line in timeline)


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_what_the_draft_quotes_reads_as_quoted_in_the_markdown_file(text: str) -> None:
    """Log lines, commit messages and reasons opsbot prefills the draft with are text too."""
    doc = Document.unsaved(_draft(text))
    assert doc.sections["impact"] == f"- {text}"  # opsbot's list of impacts
    assert not doc.edited
    _check_file(doc, text)


def test_the_example_payloads_read_exactly_as_typed() -> None:
    """One-line payloads: the reader sees exactly these characters, nothing dropped or added."""
    for key in ("script", "img onerror", "javascript link", "remote image", "iframe", "entities"):
        text = HOSTILE[key]
        sections = sections_of(renderer().parse(markdown(Document.of(_stored(text)), "UTC", TODAY)))
        assert paragraphs_only(sections["Root Cause"]) == text


def test_opsbots_own_markdown_stays_markdown() -> None:
    prefilled = Document.unsaved(replace(_draft("fine"), impact=["a <b>", "- c", "1. d"]))
    source = markdown(prefilled, "UTC", TODAY)
    assert "\n## Impact\n\n- a &lt;b&gt;\n- \\- c\n- 1\\. d\n\n## Summary\n" in source
    html = renderer().render(source)
    assert "<h2>Impact</h2>\n<ul>\n<li>a &lt;b&gt;</li>\n<li>- c</li>\n<li>1. d</li>\n</ul>" in html
    source = markdown(Document.of(_stored("fine")), "UTC", TODAY)
    assert source.startswith("# Postmortem: fine\n\n_Draft · rollout #3_\n\n## Date\n")
    assert "\n## Root Cause\n\nfine\n" in source
    assert "\n- [ ] fine — owner @U0SAMDEPLY&gt; &lt;\\!channel, due 2026-02-10\n" in source
    html = renderer().render(source)
    assert "<ul>" in html and "<li>[ ] fine — owner @U0SAMDEPLY&gt; &lt;!channel" in html


MARKDOWNISH = st.sampled_from(list("#>-+*=_`~|[]()!<>&;:/.$\\\"' \n\t0129wWaé€\x00\r\u2028"))


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(MARKDOWNISH, st.characters()), max_size=60))
def test_any_text_people_type_reads_as_typed(text: str) -> None:
    doc = Document.of(_stored(text, owner=text))
    source = markdown(doc, "UTC", TODAY)
    sections = sections_of(renderer().parse(source))
    for name, heading in PEOPLE_SECTIONS.items():
        assert paragraphs_only(sections[heading]) == as_typed(doc.sections[name]), source
    items = [shown(t) for t in sections["Action Items"] if t.type == "inline"]
    one = _one_line(text)
    assert items == [f"[ ] {one} — owner @{one}, due 2026-02-10"], source
    prefilled = Document.unsaved(_draft(text))  # the same text in a log line, a commit, …
    source = markdown(prefilled, "UTC", TODAY)
    sections = sections_of(renderer().parse(source))
    for name, heading in PEOPLE_SECTIONS.items():
        typed = [line for line in as_typed(prefilled.sections[name]).split("\n") if line]
        assert reading(sections[heading]) == typed, source
