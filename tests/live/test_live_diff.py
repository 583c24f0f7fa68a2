"""What a live frame sends when a partial changed: only the elements (by id) that changed, when the shape held."""

from __future__ import annotations

import pytest

from workloads.live.diff import Unreadable, changed_elements, messages_for, parse


def table(*rows: tuple[str, str], heading: str = "3 Pods") -> str:
    body = "".join(f'<tr id="pod-{uid}"><td>{uid}</td><td>{state}</td></tr>' for uid, state in rows)
    return (
        f'<section id="pods-w" hx-swap-oob="true"><h2 id="count-w">{heading}</h2>'
        f'<div class="revgroup" id="revision-a"><header id="revhead-a">ready</header>'
        f'<table class="grid"><tbody>{body}</tbody></table></div></section>'
    )


def test_a_changed_row_is_sent_alone() -> None:
    old = table(("a", "Running"), ("b", "Pending"), ("c", "Running"))
    new = table(("a", "Running"), ("b", "Running"), ("c", "Running"))
    assert changed_elements(old, new) == ['<tr id="pod-b"><td>b</td><td>Running</td></tr>']


def test_a_changed_heading_with_an_id_is_sent_beside_the_rows() -> None:
    old = table(("a", "Running"), ("b", "Pending"))
    new = table(("a", "Running"), ("b", "Running"), heading="2 Pods")
    assert changed_elements(old, new) == [
        '<h2 id="count-w">2 Pods</h2>',
        '<tr id="pod-b"><td>b</td><td>Running</td></tr>',
    ]


def test_a_row_added_or_removed_sends_the_element_that_holds_the_rows() -> None:
    old = table(("a", "Running"), ("b", "Pending"))
    added = table(("a", "Running"), ("b", "Pending"), ("c", "Pending"))
    (sent,) = changed_elements(old, added)
    assert sent.startswith('<div class="revgroup" id="revision-a">') and 'id="pod-c"' in sent
    (sent,) = changed_elements(added, old)
    assert sent.startswith('<div class="revgroup" id="revision-a">') and 'id="pod-c"' not in sent


def test_rows_that_swap_places_send_their_holder() -> None:
    old = table(("a", "Running"), ("b", "Running"))
    new = table(("b", "Running"), ("a", "Running"))
    (sent,) = changed_elements(old, new)
    assert sent.startswith('<div class="revgroup"')


def test_changed_text_without_an_id_sends_the_nearest_element_with_one_that_holds_it() -> None:
    old = table(("a", "Running")).replace("<table", "<p>2 outdated</p><table")
    new = table(("a", "Running")).replace("<table", "<p>1 outdated</p><table")
    (sent,) = changed_elements(old, new)
    assert sent.startswith('<div class="revgroup"') and "1 outdated" in sent


def test_the_same_render_sends_nothing_and_another_root_sends_it_whole() -> None:
    page = table(("a", "Running"))
    assert changed_elements(page, page) == []
    assert changed_elements(page, page.replace('id="pods-w"', 'id="pods-x"')) is None
    assert changed_elements(page, page.replace('class="revgroup"', 'class="revgroup open"')) == [
        '<div class="revgroup open" id="revision-a"><header id="revhead-a">ready</header>'
        '<table class="grid"><tbody><tr id="pod-a"><td>a</td><td>Running</td></tr></tbody></table></div>'
    ]


def test_nothing_inside_an_svg_is_sent_alone() -> None:
    def tree(color: str) -> str:
        return f'<div id="tree-w"><svg viewBox="0 0 9 9"><g id="node-a"><circle r="1" fill="{color}"/></g></svg></div>'

    assert changed_elements(tree("red"), tree("green")) is None  # the root's own shape (its SVG) changed


def test_void_elements_and_comments_do_not_open_anything() -> None:
    old = '<form id="f"><input name="x" value="1"><br><!-- <tr> --><span id="s">1</span></form>'
    new = old.replace(">1</span>", ">2</span>")
    assert changed_elements(old, new) == ['<span id="s">2</span>']


@pytest.mark.parametrize(
    "html",
    [
        '<div id="a"><span id="b">x</div>',  # a tag left open
        '<div id="a"><span id="b"></span><span id="b"></span></div>',  # an id twice
        '<div id="a"></div><div id="c"></div>',  # two roots
        '<div class="no-id"><span id="b"></span></div>',
        'text <div id="a"></div>',
        '<div id="a"><p>',
    ],
)
def test_what_it_cannot_read_with_confidence_is_sent_whole(html: str) -> None:
    with pytest.raises(Unreadable):
        parse(html)
    assert changed_elements(html, html + " ") is None


def test_attribute_values_with_a_greater_than_sign_do_not_end_the_tag() -> None:
    old = '<div id="a" title="x > y"><span id="b">1</span></div>'
    assert changed_elements(old, old.replace(">1<", ">2<")) == ['<span id="b">2</span>']


def test_an_id_inside_another_attribute_is_not_an_id() -> None:
    old = '<div id="a"><span data-id="b">1</span></div>'
    assert parse(old).children == []


def test_an_age_that_only_counted_on_is_not_sent() -> None:
    def row(age: str, state: str) -> str:
        return (
            f'<tbody id="rows"><tr id="pod-a"><td>{state}</td>'
            f'<td><time datetime="2026-12-01T22:00:00.000+00:00" data-age>{age}</time></td></tr></tbody>'
        )

    assert changed_elements(row("3m1s", "Running"), row("3m2s", "Running")) == []
    assert changed_elements(row("3m1s", "Running"), row("3m2s", "Failed")) == [
        '<tr id="pod-a"><td>Failed</td>'
        '<td><time datetime="2026-12-01T22:00:00.000+00:00" data-age>3m2s</time></td></tr>'
    ]


def test_rows_go_in_a_message_of_their_own_so_that_they_parse() -> None:
    # htmx parses a message in a <template>: a <tr> after a <section> there would be dropped.
    pieces = [
        '<section id="a">x</section>',
        '<tr id="pod-1"><td>1</td></tr>',
        '<h2 id="b">y</h2>',
        "<tr id='pod-2'></tr>",
    ]
    assert messages_for(pieces) == [
        '<section id="a">x</section>\n<h2 id="b">y</h2>',
        "<tr id=\"pod-1\"><td>1</td></tr>\n<tr id='pod-2'></tr>",
    ]
    assert messages_for(['<tr id="pod-1"></tr>']) == ['<tr id="pod-1"></tr>']
    assert messages_for([]) == []
