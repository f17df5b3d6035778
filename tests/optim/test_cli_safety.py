"""The command line's side of issue 9: --allow-import, --force, one folder per run spec, read-only
reports. Each test failed on the code before the fix."""

from __future__ import annotations

import json
from pathlib import Path

from optim.cli import main

CONFIG = """
[campaign]
name = "{name}"
seed = 5
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


def _config(tmp_path: Path, out: Path, name: str = "c", problem: str = "zdt1",
            params: str = "n_var = 4") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(CONFIG.format(name=name, out=out.as_posix(), problem=problem, params=params))
    return path


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted([root, *root.rglob("*")])}


def test_campaign_imports_a_module_attr_name_only_with_the_flag(tmp_path, capsys):
    path = _config(tmp_path, tmp_path / "out", problem="optim_test_problems:Boom", params="fail_after = 99")
    assert main(["campaign", str(path), "--no-progress", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optim: error: ") and "'optim_test_problems:Boom'" in err
    assert "--allow-import" in err
    assert not (tmp_path / "out").exists()
    assert main(["campaign", str(path), "--no-progress", "--no-report", "--allow-import"]) == 0


def test_run_imports_a_module_attr_name_only_with_the_flag(capsys):
    argv = ["run", "optim_test_problems:Boom", "pymoo_nsga2", "--n-gen", "2", "-p", "fail_after=99",
            "-a", "pop_size=8"]
    assert main(argv) == 2
    assert "--allow-import" in capsys.readouterr().err
    assert main([*argv, "--allow-import"]) == 0
    assert "16 evaluations" in capsys.readouterr().out


def test_report_of_a_folder_naming_os_system_runs_no_command(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["campaign", str(_config(tmp_path, out)), "--no-progress", "--no-report"]) == 0
    touched = tmp_path / "TOUCHED"
    toml = (out / "campaign.toml").read_text().replace('name = "zdt1"', 'name = "os:system"').replace(
        "params = { n_var = 4 }", f'params = {{ command = "touch {touched.as_posix()}" }}')
    (out / "campaign.toml").write_text(toml)
    assert main(["report", str(out), "--output", str(tmp_path / "r.html")]) == 0
    assert not touched.exists() and (tmp_path / "r.html").is_file()


def test_run_output_keeps_runs_with_other_parameters_apart(tmp_path, capsys):
    base = ["run", "zdt1", "pymoo_nsga2", "--n-gen", "2", "--seed", "3", "-a", "pop_size=8",
            "--output", str(tmp_path)]
    assert main([*base, "-p", "n_var=4"]) == 0
    assert main([*base, "-p", "n_var=5"]) == 0
    assert main([*base, "-p", "n_var=4"]) == 0  # the same spec again: its own folder, rewritten
    dirs = sorted((tmp_path / "runs").iterdir())
    params = sorted(json.loads((d / "meta.json").read_text())["spec"]["problem"]["params"]["n_var"]
                    for d in dirs)
    assert params == [4, 5]
    assert all(d.name.startswith("zdt1__pymoo_nsga2__seed3__") for d in dirs)


def test_run_output_refuses_a_campaign_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["campaign", str(_config(tmp_path, out)), "--no-progress", "--no-report"]) == 0
    capsys.readouterr()
    assert main(["run", "zdt1", "pymoo_nsga2", "--n-gen", "2", "--output", str(out)]) == 2
    assert f"--output {out}: a campaign's folder" in capsys.readouterr().err


def test_second_campaign_into_a_folder_needs_force(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["campaign", str(_config(tmp_path, out, name="first")), "--no-progress", "--no-report"]) == 0
    other = _config(tmp_path, out, name="second", problem="zdt2")
    capsys.readouterr()
    assert main(["campaign", str(other), "--no-progress", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"optim: error: {out}: this folder belongs to campaign 'first'" in err and "--force" in err
    assert main(["campaign", str(other), "--no-progress", "--no-report", "--force"]) == 0
    assert 'name = "second"' in (out / "campaign.toml").read_text()


def test_report_of_a_read_only_folder_with_output_elsewhere(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["campaign", str(_config(tmp_path, out)), "--no-progress", "--no-report"]) == 0
    before = _listing(out)
    modes = {p: p.stat().st_mode for p in [out, *out.rglob("*")]}
    try:
        for p, mode in modes.items():
            p.chmod(mode & ~0o222)
        assert main(["report", str(out), "--output", str(tmp_path / "r.html")]) == 0
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert _listing(out) == before
    assert "Campaign c" in (tmp_path / "r.html").read_text()
