"""The log links of a Ray attempt: a job on a head links to the head's job page, and has no
local log file (the engine asks for links as soon as an attempt starts; a job's handle once
raised KeyError 'log' there, failing every Ray Jobs attempt run by a server)."""

from __future__ import annotations

from wingspan_ray._targets import RayLocal


def test_a_job_attempt_links_to_the_heads_job_page() -> None:
    target = RayLocal()
    try:
        links = target.log_links({"ray_job": "wingspan-abc", "address": "http://127.0.0.1:8265",
                                  "prefix": "runs/x"})
    finally:
        target.close()
    assert [(link.name, link.uri) for link in links] == [("ray job", "http://127.0.0.1:8265/#/jobs/wingspan-abc")]
