import pytest

from tests.feed.conftest import make_video  # noqa: F401  (a stored, optionally published clip)


@pytest.fixture
def act(staff):
    """Staff apply one action to items, through the service."""
    from moderation.services import moderation_act

    def run(items, action, note="", actor=None):
        return moderation_act(actor=actor or staff, items=items, action=action, note=note)

    return run
