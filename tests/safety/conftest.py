import pytest


@pytest.fixture(autouse=True)
def _signing_in_tmp(settings, tmp_path):
    settings.SAFETY = {**settings.SAFETY, "SIGNING_DIR": str(tmp_path / "signing")}
