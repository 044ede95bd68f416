"""`composer studio`: its options, the missing-extra message, a busy port, and a real run
that serves the API and stops cleanly on Ctrl-C."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from click.testing import CliRunner

import composer.studio
from composer.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_studio_has_help():
    output = invoke("studio", "--help").output
    for option in ("--host", "--port", "--no-browser", "127.0.0.1", "8765", "[studio]"):
        assert option in output


def test_without_the_extra_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(composer.studio, "REQUIRED", ("starlette", "no_such_package_xyz"))
    result = invoke("studio", "--no-browser")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: the studio needs no_such_package_xyz, which are not installed; install them "
        "with: pip install 'numpy-lstm-composer[studio]' (from a clone: pip install "
        "\".[studio]\")")


@pytest.fixture
def serve_calls(monkeypatch):
    pytest.importorskip("uvicorn", reason="the studio extra is not installed")
    import composer.studio.server as server

    calls = []
    monkeypatch.setattr(server, "serve", lambda host, port, **kw: calls.append((host, port, kw)))
    return calls


def test_loopback_by_default_and_the_browser_opens(serve_calls):
    result = invoke("studio")
    assert result.exit_code == 0 and result.output == ""
    assert serve_calls[0][:2] == ("127.0.0.1", 8765)
    assert serve_calls[0][2]["open_browser"] is True


def test_another_host_only_when_asked_and_with_a_warning(serve_calls):
    result = CliRunner().invoke(main, ["studio", "--host", "0.0.0.0", "--port", "9000",
                                       "--no-browser"])
    assert result.exit_code == 0
    assert result.output.startswith("Warning: listening on 0.0.0.0: other computers")
    assert serve_calls[0][:2] == ("0.0.0.0", 9000)
    assert serve_calls[0][2]["open_browser"] is False


def test_a_busy_port_is_one_clear_error():
    pytest.importorskip("uvicorn", reason="the studio extra is not installed")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = invoke("studio", "--port", port, "--no-browser")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot listen on 127.0.0.1:{port} (")
    assert result.output.rstrip().endswith("choose another --port, or --port 0 for any free one")


def test_a_real_studio_serves_and_stops_on_ctrl_c(studio_models, tmp_path):
    pytest.importorskip("uvicorn", reason="the studio extra is not installed")
    (tmp_path / "models").symlink_to(studio_models)  # ./models of the studio's folder
    temp = tmp_path / "tmp"
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "composer.cli", "studio", "--port", "0", "--no-browser"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(temp)})
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)[0]
        with urllib.request.urlopen(url + "api/models", timeout=10) as response:
            models = json.load(response)
        assert [m["id"] for m in models["models"]][:2] == ["melody", "performance"]
        request = urllib.request.Request(url + "api/takes", method="POST",
                                         data=json.dumps({"model": "melody", "bars": 1}).encode())
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["id"] == "t1"
        assert len(list(temp.iterdir())) == 1  # composer-studio-*, where renders go
    finally:
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors
    assert output.strip() == "composer studio stopped; its takes are deleted"
    assert list(temp.iterdir()) == []  # the takes' folder went with the studio
