"""The moderation log is append-only: in the model, its queryset, and the database's trigger."""
import pytest
from django.db import connection, transaction

from moderation.models import AppendOnlyError, Decision

pytestmark = pytest.mark.django_db

def _decision(staff, alice, **extra):
    return Decision.objects.create(actor=staff, actor_name=staff.username, action=Decision.Action.WARN,
                                   target_kind=Decision.Target.USER, target_id=alice.pk, subject=alice,
                                   subject_name=alice.username, note="be nice", **extra)


def test_the_model_refuses_to_change_or_delete_an_entry(staff, alice):
    d = _decision(staff, alice)
    d.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        d.save()
    with pytest.raises(AppendOnlyError):
        d.delete()
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=d.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        Decision.objects.filter(pk=d.pk).delete()
    assert Decision.objects.get(pk=d.pk).note == "be nice"


def test_the_database_refuses_an_update_behind_the_models_back(staff, alice):
    d = _decision(staff, alice)
    with pytest.raises(Exception) as caught, transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("UPDATE moderation_decision SET note = %s WHERE id = %s", ["rewritten", d.pk])
    assert "append-only" in str(caught.value)
    assert Decision.objects.get(pk=d.pk).note == "be nice"


def test_on_postgresql_the_database_refuses_a_delete_too(staff, alice):
    d = _decision(staff, alice)
    if connection.vendor != "postgresql":
        # SQLite keeps DELETE open for the test database flush (migration 0002 says why)
        assert connection.vendor == "sqlite"
        return
    with pytest.raises(Exception) as caught, transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("DELETE FROM moderation_decision WHERE id = %s", [d.pk])
    assert "append-only" in str(caught.value)
    assert Decision.objects.filter(pk=d.pk).exists()


def test_every_action_is_logged_with_actor_target_subject_note_and_items(act, staff, alice, bob, make_video):
    from moderation.services import report_create

    video = make_video(alice, publish="public")
    report = report_create(reporter=bob, video=video, reason="violence")
    [removal] = act([f"report:{report.pk}"], "remove", note="graphic")
    [warning] = act([f"video:{video.pk}"], "warn", note="second time")
    [restore] = act([f"video:{video.pk}"], "restore")
    log = list(Decision.objects.order_by("pk"))
    assert log == [removal, warning, restore]
    assert [(d.action, d.target_kind, d.actor_name, d.subject_name) for d in log] == [
        ("remove", "video", staff.username, "alice"), ("warn", "user", staff.username, "alice"),
        ("restore", "video", staff.username, "alice")]
    assert removal.target_id == video.pk and removal.note == "graphic" and removal.items == [f"report:{report.pk}"]
    assert removal.detail == {"previous_status": "published"} and warning.target_id == alice.pk


def test_deleting_a_video_or_an_account_leaves_the_log_alone(act, alice, bob, make_video):
    video = make_video(alice, publish="public")
    video_id = video.pk
    act([f"video:{video_id}"], "remove", note="spam")
    video.delete()
    alice.delete()
    d = Decision.objects.get()
    assert (d.target_kind, d.target_id, d.subject_name, d.note) == ("video", video_id, "alice", "spam")
