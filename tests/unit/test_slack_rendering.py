"""The Slack stand-in's page renders mrkdwn, emoji and Block Kit as Slack shows them, and
nothing an app sends can become markup of its own."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from standins.slack_blocks import blocks_html, buttons
from standins.slack_emoji import EMOJI, emojize
from standins.slack_mrkdwn import Names, mrkdwn

NAMES = Names(users={"U1": "Alice Agent"}, channels={"C1": "sla-p1"})
OUR_TAGS = re.compile(
    r"</?(strong|em|del|code|pre|br|blockquote|a|span|time)(\s[^<>]*)?>", re.IGNORECASE
)


def test_emphasis_code_and_quotes() -> None:
    assert mrkdwn("*P1* _soon_ ~gone~") == "<strong>P1</strong> <em>soon</em> <del>gone</del>"
    assert mrkdwn("run `a *b* _c_` now") == "run <code>a *b* _c_</code> now"
    assert mrkdwn("```\nline <1>\n```") == "<pre>line &lt;1&gt;</pre>"
    assert mrkdwn("&gt; quoted\nplain") == "<blockquote>quoted</blockquote>plain"
    assert mrkdwn("a\nb") == "a<br>b"


def test_words_with_marks_inside_stay_as_typed() -> None:
    assert mrkdwn("snake_case_name and 2*3*4") == "snake_case_name and 2*3*4"
    assert mrkdwn("* not bold *") == "* not bold *"


def test_mentions_channels_and_specials_are_named() -> None:
    html = mrkdwn("<@U1> see <#C1> and <#C9|ops>, <@U2>, <!here>", NAMES)
    assert '<span class="mention" data-user="U1">@Alice Agent</span>' in html
    assert "#sla-p1</span>" in html and "#ops</span>" in html
    assert "@U2</span>" in html and "@here</span>" in html
    assert mrkdwn("*<@U1> paged*", NAMES).startswith("<strong><span")


def test_links_keep_safe_schemes_only() -> None:
    html = mrkdwn("<https://x.example/t?a=1&amp;b=2|Open ticket> <mailto:a@b.example>")
    assert '<a href="https://x.example/t?a=1&amp;b=2" target="_blank"' in html
    assert ">Open ticket</a>" in html and 'href="mailto:a@b.example"' in html
    assert mrkdwn("<javascript:alert(1)|click>") == "click"


def test_dates_show_their_fallback_with_the_epoch_for_the_viewer() -> None:
    html = mrkdwn("due <!date^1700000000^{date_short} {time}|14 Nov 22:13 UTC>")
    assert html == 'due <time data-epoch="1700000000">14 Nov 22:13 UTC</time>'


def test_emoji_shortcodes_become_emoji_and_unknown_ones_stay() -> None:
    assert emojize(":rotating_light: P1 :warning:") == "\U0001f6a8 P1 \u26a0\ufe0f"
    assert emojize(":no_such_emoji: at 12:30:15") == ":no_such_emoji: at 12:30:15"
    assert mrkdwn(":white_check_mark: *done*") == "\u2705 <strong>done</strong>"
    assert all(code == code.lower() and value for code, value in EMOJI.items())


def test_markup_from_the_app_is_escaped() -> None:
    html = mrkdwn('<script>alert(1)</script> <img src=x onerror="y"> "q" & \'s\'')
    assert "<script" not in html and "<img" not in html
    assert "img src=x onerror=&#34;y&#34;" in html  # raw <...> is a token: shown as its text
    assert mrkdwn("&lt;b&gt;bold?&lt;/b&gt;") == "&lt;b&gt;bold?&lt;/b&gt;"  # Slack's escapes


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_any_text_yields_only_our_own_tags(text: str) -> None:
    html = str(mrkdwn(text, NAMES))
    leftover = OUR_TAGS.sub("", html)
    assert "<" not in leftover and ">" not in leftover


def test_block_kit_layout() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: P1 breach"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*T-1* Checkout down"},
            "fields": [
                {"type": "mrkdwn", "text": "*Tier*\nteam lead"},
                {"type": "mrkdwn", "text": "*Owner*\n<@U1>"},
            ],
        },
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "opened _by phone_"}]},
        {
            "type": "actions",
            "block_id": "act",
            "elements": [
                {
                    "type": "button",
                    "action_id": "acknowledge",
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "primary",
                    "value": "T-1",
                }
            ],
        },
        {"type": "image", "image_url": "https://elsewhere.example/x.png", "alt_text": "chart"},
        {"type": "video"},
    ]
    html = str(blocks_html(blocks, NAMES, "C1", "1.000001"))
    assert '<div class="sk-header">\U0001f6a8 P1 breach</div>' in html
    assert '<div class="sk-fields"><div class="sk-field"><strong>Tier</strong><br>team lead' in html
    assert "@Alice Agent" in html and '<hr class="sk-divider">' in html
    assert '<div class="sk-context"><span>opened <em>by phone</em></span></div>' in html
    assert (
        '<button type="button" class="sk-button primary" data-channel="C1" data-ts="1.000001"'
        ' data-action="acknowledge" data-block="act">Acknowledge</button>'
    ) in html
    assert "elsewhere.example" not in html and ">chart</span>" in html
    assert "[video block]" in html


def test_buttons_of_actions_blocks_and_section_accessories() -> None:
    button = {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "O"}}
    blocks = [
        {
            "type": "section",
            "block_id": "s",
            "text": {"type": "mrkdwn", "text": "x"},
            "accessory": button,
        },
        {"type": "actions", "block_id": "a", "elements": [{**button, "action_id": "go"}]},
        "not a block",
        {"type": "actions", "elements": "not a list"},
    ]
    assert [(b["action_id"], b["block_id"]) for b in buttons(blocks)] == [
        ("open", "s"),
        ("go", "a"),
    ]
    assert "sk-accessory actions" in str(blocks_html(blocks, NAMES))
