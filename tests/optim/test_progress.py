from __future__ import annotations

import io

from optim.progress import CampaignProgress, heartbeat


def test_bars_draw_on_request_and_stay_quiet_otherwise():
    stream = io.StringIO()
    with CampaignProgress(2, enabled=True, stream=stream) as bar:
        bar.start_run("a")
        bar.run_share(0.5)
        bar.run_done("a", "ok")
    text = stream.getvalue()
    assert "runs:" in text and "a:  50%" in text and "a: ok" in text
    quiet = io.StringIO()  # not a terminal: auto mode draws nothing
    with CampaignProgress(2, enabled=None, stream=quiet) as bar:
        bar.run_share(0.5)
        bar.run_done("a", "ok")
    assert quiet.getvalue() == ""


def test_heartbeat_file(tmp_path):
    assert heartbeat(None) is None
    beat = heartbeat(str(tmp_path / "r1"))
    beat(0.25)
    assert (tmp_path / "r1").read_text() == "0.2500"
    assert [p.name for p in tmp_path.iterdir()] == ["r1"]
