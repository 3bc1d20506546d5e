"""The pager of the paged tables (population, salts) keeps the query's other fields."""

from flask import Flask, render_template_string


def test_the_pager_keeps_the_search_and_shows_only_the_pages_that_exist(app: Flask) -> None:
    with app.test_request_context():
        middle = render_template_string('{% from "_pager.html" import pager %}{{ pager(2, 3, {"q": "王 小"}) }}')
        first = render_template_string('{% from "_pager.html" import pager %}{{ pager(1, 3, {"case": "114-0001"}) }}')
        single = render_template_string('{% from "_pager.html" import pager %}{{ pager(1, 1, {}) }}')
    assert 'href="?q=%E7%8E%8B+%E5%B0%8F&amp;page=1"' in middle
    assert 'href="?q=%E7%8E%8B+%E5%B0%8F&amp;page=3"' in middle
    assert "page=0" not in first and 'href="?case=114-0001&amp;page=2"' in first
    assert "pager" not in single
