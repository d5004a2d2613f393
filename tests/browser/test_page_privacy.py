"""The page's privacy promise in a real Chromium against the real gateway: it says what is kept and for how
long, and its “Delete from server” button really deletes the job."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import LaunchBrowser
from test_page import open_page, upload

pytestmark = pytest.mark.browser


def test_the_page_says_what_is_kept_and_deletes_the_job(
    launch_browser: LaunchBrowser, gateway_url: str, astronaut_path: Path
) -> None:
    page = open_page(launch_browser(), gateway_url)
    footer = page.inner_text("#privacy")
    assert "deleted as soon as its analysis has finished or failed" in footer
    assert "Delete from server" in footer
    assert "when their results expire" not in footer  # the old, vaguer promise

    upload(page, astronaut_path)
    job_id = page.get_attribute("#results", "data-job-id")
    job_url = f"{gateway_url}/v1/jobs/{job_id}"
    assert httpx.get(job_url).status_code == 200
    assert "already deleted the photo" in page.inner_text("#privacy-note")

    page.click("#delete-job")
    page.wait_for_selector("#results[data-deleted='true']")
    assert page.inner_text("#delete-job") == "Deleted" and page.is_disabled("#delete-job")
    assert "keeps nothing of this photo" in page.inner_text("#privacy-note")
    assert httpx.get(job_url).status_code == 404
    assert httpx.get(f"{job_url}/overlay.png").status_code == 404
    assert page.js_errors == []

    # a new result gets a working button again
    upload(page, astronaut_path)
    page.wait_for_function(f"document.querySelector('#results').dataset.jobId !== '{job_id}'")
    assert not page.is_disabled("#delete-job")
