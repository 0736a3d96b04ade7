"""The admin's language: the browser's by default, the reviewer's own choice once made."""

import pytest

from tests.factories import ReviewerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer_client(client):
    client.force_login(ReviewerFactory())
    return client


def test_the_browser_language_is_the_default(reviewer_client):
    english = reviewer_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = reviewer_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()

    assert "Lending-risk review" in english
    assert "风控审核" in chinese


def test_a_reviewer_can_choose_chinese_on_an_english_browser(reviewer_client):
    # given the switcher offers the other language
    page = reviewer_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="language" value="zh-hans"' in page

    # when the reviewer picks it
    response = reviewer_client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/admin/"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    # then the admin speaks Chinese to that reviewer from now on
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert "风控审核" in reviewer_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_an_unknown_language_changes_nothing(reviewer_client):
    reviewer_client.post("/i18n/setlang/", {"language": "xx", "next": "/admin/"})

    assert "Lending-risk review" in reviewer_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
