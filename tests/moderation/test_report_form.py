"""The video page offers "Report this video" to signed-in viewers other than the owner; a report
sent the way its script sends it reaches the staff queue."""
import pytest

from moderation.models import Report

pytestmark = pytest.mark.django_db


def test_report_form_shown_to_others_not_to_the_owner_or_anonymous(client, alice, bob, make_video):
    video = make_video(alice, publish="public")
    assert 'id="report-form"' not in client.get(f"/v/{video.pk}").content.decode()
    client.force_login(alice)
    assert 'id="report-form"' not in client.get(f"/v/{video.pk}").content.decode()
    client.force_login(bob)
    page = client.get(f"/v/{video.pk}").content.decode()
    assert 'id="report-form"' in page and 'value="likeness"' in page and "report.js" in page
    res = client.post("/api/reports", {"video": video.pk, "reason": "likeness", "details": "that is me"},
                      content_type="application/json")
    assert res.status_code == 201
    assert Report.objects.filter(video=video, reporter=bob, reason="likeness").exists()
    bad = client.post("/api/reports", {"video": video.pk, "reason": "nope"}, content_type="application/json")
    assert bad.status_code == 400 and "reason" in bad.json()
