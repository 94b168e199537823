from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_admin_pages_say_when_they_run_in_dev_mode(admin_client, settings):
    assert 'class="qf-env"' in admin_client.get("/admin/").content.decode()
    settings.QF_ENV = "production"
    assert 'class="qf-env"' not in admin_client.get("/admin/").content.decode()
