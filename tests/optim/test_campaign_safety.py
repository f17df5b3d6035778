"""Results folders are data and nothing is lost or mixed (issue 9, sections 2 and 4).

Each test states the fault it guards against; each failed on the code before the fix.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

from optim.campaign import gather, run_campaign
from optim.config import load_config
from optim.errors import ConfigError, ResultsError
from optim.report import write_report

CONFIG = """
[campaign]
name = "{name}"
seed = {seed}
seeds = 1
output = "{out}"
[campaign.termination]
n_gen = 3

[[problem]]
name = "{problem}"
label = "p"
params = {{ {params} }}

[[algorithm]]
name = "pymoo_nsga2"
params = {{ pop_size = 8 }}
"""

# A module whose import leaves a mark: proof that a name was (or was not) imported.
MARKER_MODULE = '''
import pathlib
pathlib.Path({marker!r}).write_text("imported")
from pymoo.problems.multi.zdt import ZDT1 as Z
'''


def _write(tmp_path: Path, file: str, out: Path, name: str = "c", seed: int = 1, problem: str = "zdt1",
           params: str = "n_var = 4") -> Path:
    path = tmp_path / file
    path.write_text(CONFIG.format(name=name, seed=seed, out=out.as_posix(), problem=problem, params=params))
    return path


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and mtime: what "unchanged" means."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted([root, *root.rglob("*")])}


@pytest.fixture
def marker_module(tmp_path, monkeypatch):
    """``marker_mod:Z`` (ZDT1) importable; importing it writes ``tmp_path/MARKER``."""
    mods = tmp_path / "mods"
    mods.mkdir()
    marker = tmp_path / "MARKER"
    (mods / "marker_mod.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(mods))
    monkeypatch.delitem(sys.modules, "marker_mod", raising=False)
    yield marker
    sys.modules.pop("marker_mod", None)


# --------------------------------------------------------------------------------------------------
# section 2: results folders and configs are data, never code


def test_report_and_gather_never_import_a_name_from_the_folder(tmp_path, marker_module):
    """A folder received from someone else names ``marker_mod:Z``: opening it imports nothing."""
    out = tmp_path / "out"
    cfg = load_config(_write(tmp_path, "c.toml", out, problem="marker_mod:Z"), allow_import=True)
    run_campaign(cfg, progress=False)
    assert marker_module.is_file()  # the campaign was allowed to import it
    marker_module.unlink()
    del sys.modules["marker_mod"]

    report = write_report(out, path=tmp_path / "r.html")
    gathered = gather(out)
    assert not marker_module.exists() and "marker_mod" not in sys.modules
    # the true ZDT1 front was stored at campaign time, so the tables still use it
    assert (gathered["reference"] == "true").all()
    assert "Campaign c" in report.read_text()


def test_report_of_a_folder_naming_os_system_runs_no_command(tmp_path):
    """The issue's probe: campaign.toml names ``os:system``; ``report`` ran the command."""
    out = tmp_path / "out"
    run_campaign(load_config(_write(tmp_path, "c.toml", out)), progress=False)
    touched = tmp_path / "TOUCHED"
    toml = (out / "campaign.toml").read_text()
    toml = toml.replace('name = "zdt1"', 'name = "os:system"').replace(
        "params = { n_var = 4 }", f'params = {{ command = "touch {touched.as_posix()}" }}')
    assert "os:system" in toml and "touch" in toml
    (out / "campaign.toml").write_text(toml)
    write_report(out, path=tmp_path / "r.html")
    gather(out)
    assert not touched.exists()


def test_module_attr_names_need_allow_import(tmp_path, marker_module):
    path = _write(tmp_path, "c.toml", tmp_path / "out", problem="marker_mod:Z")
    with pytest.raises(ConfigError, match=r"c\.toml: \[\[problem\]\] #1 \(marker_mod:Z\)\.name: .*"
                                          r"--allow-import \(Python: allow_import=True\)"):
        load_config(path)
    assert not marker_module.exists()  # refused before importing
    cfg = load_config(path, allow_import=True)
    assert marker_module.is_file()
    # a config that holds such a name without the permission is refused by run_campaign too
    with pytest.raises(ConfigError, match="'marker_mod:Z' is a module:attribute name.*--allow-import"):
        run_campaign(cfg.with_options(allow_import=False), progress=False)
    assert not (tmp_path / "out").exists()
    assert run_campaign(cfg, progress=False).n_run == 1


def test_campaign_named_dotdot_cannot_write_into_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text(_write(tmp_path, "x.toml", tmp_path).read_text().replace('name = "c"', 'name = ".."')
                    .replace(f'output = "{tmp_path.as_posix()}"\n', ""))
    with pytest.raises(ConfigError, match=r"\[campaign\]\.name: '\.\.' .*may not start with '\.'"):
        load_config(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "x.toml"]


# --------------------------------------------------------------------------------------------------
# section 4: nothing lost, nothing mixed


def test_a_second_campaign_is_refused_and_force_starts_afresh(tmp_path):
    out = tmp_path / "out"
    first = load_config(_write(tmp_path, "a.toml", out, name="a"))
    run_campaign(first, progress=False)
    (out / "notes.txt").write_text("mine")
    before = _listing(out)
    other = load_config(_write(tmp_path, "b.toml", out, name="b", problem="zdt2"))
    belongs = rf"{out}: this folder belongs to campaign 'a' \(seed 1\).*--force"
    with pytest.raises(ResultsError, match=belongs):
        run_campaign(other, progress=False)
    assert _listing(out) == before  # nothing touched
    reseeded = load_config(_write(tmp_path, "a2.toml", out, name="a", seed=2))
    with pytest.raises(ResultsError, match=r"campaign 'a' \(seed 1\), not to campaign 'a' \(seed 2\)"):
        run_campaign(reseeded, progress=False)

    summary = run_campaign(other, progress=False, force=True)
    assert summary.n_run == 1 and summary.n_skipped == 0
    assert (out / "notes.txt").read_text() == "mine"  # afresh removes campaign files only
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["p__pymoo_nsga2__r000"]
    meta = json.loads((out / "runs" / "p__pymoo_nsga2__r000" / "meta.json").read_text())
    assert meta["spec"]["problem"]["name"] == "zdt2"
    assert set(pd.read_parquet(out / "runs.parquet")["problem"]) == {"p"}
    assert 'name = "b"' in (out / "campaign.toml").read_text()


def test_a_folder_that_is_not_a_campaign_folder_is_never_used_or_cleared(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    (out / "runs").mkdir()
    (out / "runs" / "data.csv").write_text("1,2")
    before = _listing(out)
    cfg = load_config(_write(tmp_path, "c.toml", out))
    for force in (False, True):
        with pytest.raises(ResultsError, match=rf"{out}: not empty and not a campaign folder"):
            run_campaign(cfg, progress=False, force=force)
        assert _listing(out) == before


def test_runs_the_config_no_longer_defines_are_refused(tmp_path):
    """Same campaign name, other problems: the first runs would silently leave the tables."""
    out = tmp_path / "out"
    run_campaign(load_config(_write(tmp_path, "c.toml", out)), progress=False)
    path = tmp_path / "c2.toml"
    path.write_text(_write(tmp_path, "c.toml", out).read_text().replace('label = "p"', 'label = "q"'))
    with pytest.raises(ResultsError, match=r"runs: holds 1 run\(s\) that .*c2\.toml does not define "
                                           r"\(p__pymoo_nsga2__r000\).*--force"):
        run_campaign(load_config(path), progress=False)


def test_nan_parameter_resumes(tmp_path):
    """``nan != nan``: a nan parameter made every later resume refuse "different spec"."""
    path = _write(tmp_path, "c.toml", tmp_path / "out", problem="optim_test_problems:Boom",
                  params="fail_after = nan")
    cfg = load_config(path, allow_import=True)
    first = run_campaign(cfg, progress=False)
    assert (first.n_run, first.n_failed) == (1, 0)  # `calls > nan` is never true: Boom never fails
    again = run_campaign(load_config(path, allow_import=True), progress=False)
    assert (again.n_run, again.n_skipped) == (0, 1)


def test_corrected_spec_reruns_the_failed_run(tmp_path):
    out = tmp_path / "out"
    path = _write(tmp_path, "c.toml", out, problem="optim_test_problems:Boom", params="fail_after = 0")
    bad = run_campaign(load_config(path, allow_import=True), progress=False)
    assert (bad.n_run, bad.n_failed) == (1, 1)
    # unchanged: a failed run counts as finished
    assert run_campaign(load_config(path, allow_import=True), progress=False).n_run == 0
    path.write_text(path.read_text().replace("fail_after = 0", "fail_after = 1000"))
    fixed = run_campaign(load_config(path, allow_import=True), progress=False)
    assert (fixed.n_run, fixed.n_failed) == (1, 0)
    meta = json.loads((out / "runs" / "p__pymoo_nsga2__r000" / "meta.json").read_text())
    assert meta["status"] == "ok" and meta["spec"]["problem"]["params"] == {"fail_after": 1000}
    # an ok run whose spec differs is still refused
    path.write_text(path.read_text().replace("fail_after = 1000", "fail_after = 999"))
    with pytest.raises(ResultsError, match=r"p__pymoo_nsga2__r000: this finished run was made with a "
                                           r"different spec.*--force"):
        run_campaign(load_config(path, allow_import=True), progress=False, retry_failed=True)


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[:100])


def _flip_last_byte(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[-10] ^= 0xFF
    p.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "file", "match"),
    [
        (_truncate, "front.parquet", r"front\.parquet: 100 bytes, \d+ when written"),
        (Path.unlink, "history.parquet", r"history\.parquet: missing"),
        (_flip_last_byte, "fronts.parquet", r"fronts\.parquet: content differs"),
        (lambda p: p.write_text("{"), "meta.json", r"meta\.json: cannot read run metadata"),
        (Path.unlink, "meta.json", r"meta\.json: missing"),
    ],
)
def test_damaged_run_is_named_by_report_and_rerun_by_campaign(tmp_path, damage, file, match):
    out = tmp_path / "out"
    cfg = load_config(_write(tmp_path, "c.toml", out))
    whole = run_campaign(cfg, progress=False).results
    run_dir = out / "runs" / "p__pymoo_nsga2__r000"
    damage(run_dir / file)
    with pytest.raises(ResultsError, match=rf"{run_dir}/{match}"):
        gather(out)
    with pytest.raises(ResultsError, match=rf"{run_dir}/{match}"):
        write_report(out, path=tmp_path / "r.html")
    redone = run_campaign(cfg, progress=False)
    assert (redone.n_run, redone.n_skipped, redone.n_failed) == (1, 0, 0)
    pd.testing.assert_frame_equal(redone.results, whole)  # same seed, same record
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(".")]


def test_report_of_a_read_only_folder_writes_elsewhere_only(tmp_path):
    out = tmp_path / "out"
    run_campaign(load_config(_write(tmp_path, "c.toml", out)), progress=False)
    before = _listing(out)
    modes = {p: p.stat().st_mode for p in [out, *out.rglob("*")]}
    try:
        for p in modes:
            p.chmod(stat.S_IMODE(modes[p]) & ~0o222)
        html = write_report(out, path=tmp_path / "r.html")
        write_report(out, fmt="md", path=tmp_path / "md" / "r.md")
    finally:
        for p, mode in modes.items():
            os.chmod(p, mode)
    assert _listing(out) == before  # root ignores the mode bits: the code itself must not write there
    assert html.is_file() and "Campaign c" in html.read_text()
    assert any((tmp_path / "md" / "r_files").iterdir())
