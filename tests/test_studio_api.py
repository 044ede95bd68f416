"""The studio's HTTP API through Starlette's test client: takes, downloads, errors, and the
safety checks (foreign Host and Origin, oversized uploads, paths instead of ids)."""

import io
import shutil
import wave

import pytest

pytest.importorskip("starlette", reason="the studio extra is not installed")
pytest.importorskip("httpx2", reason="Starlette's test client needs httpx2")

from starlette.testclient import TestClient  # noqa: E402

from composer.constants import STUDIO_MAX_UPLOAD_BYTES  # noqa: E402
from composer.music.midi import parse_midi, write_midi  # noqa: E402
from composer.music.notes import Note  # noqa: E402
from composer.studio.app import create_app  # noqa: E402
from composer.studio.catalog import Catalog  # noqa: E402
from composer.studio.guard import host_names  # noqa: E402
from composer.studio.service import StudioService  # noqa: E402
from composer.studio.takes import TakeStore  # noqa: E402

BASE = "http://127.0.0.1:8765"
HAS_FLUIDSYNTH = shutil.which("fluidsynth") is not None


def make_client(models_dir, audio=None, capacity=50, shipped=None):
    service = StudioService(Catalog(models_dir, shipped=shipped), TakeStore(capacity), audio)
    client = TestClient(create_app(service, host_names("127.0.0.1", 8765)), base_url=BASE)
    return client, service


@pytest.fixture
def client(studio_models):
    client, service = make_client(studio_models, audio=False)
    yield client
    service.close()


def midi_file(notes, time_signature=(3, 4), qpm=100.0) -> bytes:
    buffer = io.BytesIO()
    write_midi(buffer, notes, qpm=qpm, time_signature=time_signature)
    return buffer.getvalue()


def test_the_page_and_its_assets_are_served_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas id=\"roll\"" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("studio.js", "roll.js", "sound.js", "studio.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from a CDN


def test_models_are_listed_by_id_with_what_they_hear(client):
    answer = client.get("/api/models").json()
    assert [m["id"] for m in answer["models"]] == ["melody", "performance"]
    assert answer["default"] == "melody"
    melody = answer["models"][0]
    assert melody["encoding"] == "melody" and melody["parameters"] > 0
    assert melody["supports"] == {"metre": True, "key": True, "chords": True,
                                  "scale_lock": True, "form": True}
    assert answer["models"][1]["supports"] == {"metre": False, "key": False, "chords": False,
                                               "scale_lock": False, "form": False}
    assert answer["limits"]["max_bars"] == 64 and answer["audio"]["server"] is False
    assert "path" not in melody and "file" not in melody  # ids only, never paths


def test_generate_a_take_in_three_four(client):
    response = client.post("/api/takes", json={"model": "melody", "bars": 4, "metre": "3/4",
                                               "seed": 11, "qpm": 96})
    assert response.status_code == 201
    take = response.json()
    assert (take["id"], take["title"], take["source"]) == ("t1", "Take 1", "generated")
    assert take["time_signature"] == [3, 4] and take["end"] == 12.0 and take["qpm"] == 96
    assert take["notes"] and all(0 <= s < e <= 12.0 for s, e, _, _ in take["notes"])
    assert take["settings"]["seed"] == 11 and take["figures"]["bars"] == 4
    assert take["midi_url"] == "/api/takes/t1/midi" and take["wav_url"] is None
    assert client.get("/api/takes").json()["takes"][0]["id"] == "t1"
    assert client.get("/api/takes/t1").json()["notes"] == take["notes"]


def test_a_steered_take_keeps_its_key_and_writes_its_chords(client):
    take = client.post("/api/takes", json={"model": "melody", "bars": 4, "metre": "6/8",
                                           "key": "D dorian", "chords": "Dm C", "seed": 5,
                                           "scale_lock": True}).json()
    dorian = {2, 4, 5, 7, 9, 11, 0}
    assert take["notes"] and {p % 12 for _, _, p, _ in take["notes"]} <= dorian
    assert take["figures"]["in_key_share"] == 1.0 and take["settings"]["key"] == "D dorian"
    assert take["figures"]["chord_tone_share"] is not None
    assert take["chords"] == [[0.0, "Dm"], [3.0, "C"], [6.0, "Dm"], [9.0, "C"]]  # the roll's
    piece = parse_midi(client.get(take["midi_url"]).content, "take.mid")[0]
    assert [(c.beat, c.symbol) for c in piece.chords] == [(0.0, "Dm"), (3.0, "C"), (6.0, "Dm"),
                                                         (9.0, "C")]
    assert [k.sharps for k in piece.key_signatures] == [0]  # D dorian: no sharps or flats


def test_a_take_without_a_seed_records_the_seed_it_drew(client):
    first = client.post("/api/takes", json={"model": "melody", "bars": 2}).json()
    again = client.post("/api/takes", json={"model": "melody", "bars": 2,
                                            "seed": first["settings"]["seed"]}).json()
    assert again["notes"] == first["notes"]


def test_the_midi_download_is_the_take(client):
    take = client.post("/api/takes", json={"model": "melody", "bars": 2, "metre": "6/8",
                                           "seed": 3, "program": 40}).json()
    response = client.get(take["midi_url"])
    assert response.headers["content-type"] == "audio/midi"
    assert response.headers["content-disposition"] == 'attachment; filename="composer-take-1.mid"'
    piece = parse_midi(response.content, "take.mid")[0]
    assert piece.time_signature == (6, 8) and piece.qpm == pytest.approx(120)
    assert [(n.start, n.end, n.pitch) for n in piece.notes] == [tuple(n[:3]) for n in
                                                                 take["notes"]]
    assert {n.program for n in piece.notes} == {40}


@pytest.mark.skipif(not HAS_FLUIDSYNTH, reason="FluidSynth is not installed")
def test_the_wav_download_sounds_as_long_as_the_take(studio_models):
    client, service = make_client(studio_models)
    if not service.audio:
        pytest.skip(f"no server audio: {service.audio_note}")
    take = client.post("/api/takes", json={"model": "melody", "bars": 2, "seed": 1}).json()
    response = client.get(take["wav_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert 4.0 <= seconds <= 4.0 + 3  # 8 beats at 120 qpm, plus FluidSynth's release tail
    service.close()
    assert not service.store.folder.exists()  # renders are deleted with the studio


def test_without_server_audio_the_wav_route_says_so(client):
    client.post("/api/takes", json={"model": "melody", "bars": 1, "seed": 1})
    response = client.get("/api/takes/t1/wav")
    assert response.status_code == 409 and response.json()["error"].startswith(
        "no audio on the server: server audio switched off")


def test_continue_a_take(client):
    first = client.post("/api/takes", json={"model": "melody", "bars": 2, "metre": "3/4",
                                            "seed": 1}).json()
    second = client.post("/api/takes", json={"model": "melody", "bars": 2, "seed": 2,
                                             "primer": first["id"]}).json()
    assert second["time_signature"] == [3, 4]  # the primer's metre carries on
    assert 0 < second["primer_end"] <= 6.0 and second["end"] == 12.0
    heard = [n for n in second["notes"] if n[0] < second["primer_end"]]
    assert [n[2] for n in heard] == [n[2] for n in first["notes"]][:len(heard)]


def test_a_performance_model_fills_the_bars(client):
    take = client.post("/api/takes", json={"model": "performance", "bars": 2, "seed": 5})
    assert take.status_code == 201 and take.json()["end"] == 8.0


def test_upload_a_primer_and_continue_it(client):
    notes = [Note(i * 0.5, i * 0.5 + 0.5, 60 + i % 5, program=40 + i % 2) for i in range(12)]
    response = client.post("/api/uploads", content=midi_file(notes),
                           headers={"X-File-Name": "my%20tune.mid"})
    assert response.status_code == 201
    upload = response.json()
    assert (upload["title"], upload["source"], upload["time_signature"]) == ("my tune.mid",
                                                                             "upload", [3, 4])
    assert len(upload["notes"]) == 12 and upload["qpm"] == 100
    continued = client.post("/api/takes", json={"model": "melody", "bars": 1, "seed": 1,
                                                "primer": upload["id"]}).json()
    assert continued["primer_end"] == 6.0 and continued["end"] == 9.0
    download = client.get(upload["midi_url"])
    assert download.headers["content-disposition"] == 'attachment; filename="my_tune.mid"'
    programs = {n.program for n in parse_midi(download.content, "my tune.mid")[0].notes}
    assert programs == {40, 41}  # an upload keeps its instruments


def test_a_long_upload_is_cut_with_a_notice(client):
    notes = [Note(i, i + 1, 60 + i % 7) for i in range(300)]
    upload = client.post("/api/uploads", content=midi_file(notes, (4, 4)),
                         headers={"X-File-Name": "long.mid"}).json()
    assert upload["end"] == 256.0 and len(upload["notes"]) == 256
    assert upload["notice"] == "long.mid is 300 beats long; kept its first 256 beats"


@pytest.mark.parametrize(("content", "message"), [
    (b"not a midi file", "broken.mid: "),
    (b"", "broken.mid: "),
])
def test_a_broken_upload_is_refused_by_name(client, content, message):
    response = client.post("/api/uploads", content=content, headers={"X-File-Name": "broken.mid"})
    assert response.status_code == 400 and response.json()["error"].startswith(message)


def test_an_8_mb_upload_is_refused_and_the_server_carries_on(client):
    big = b"MThd" + bytes(8 * 1024 * 1024)
    response = client.post("/api/uploads", content=big)
    assert response.status_code == 413
    assert response.json()["error"] == (f"the MIDI file is larger than "
                                        f"{STUDIO_MAX_UPLOAD_BYTES:,} bytes, the most the "
                                        f"studio accepts")

    def chunks():  # no Content-Length: the cap holds while streaming
        for _ in range(20):
            yield bytes(100_000)

    assert client.post("/api/uploads", content=chunks()).status_code == 413
    assert client.get("/api/models").status_code == 200


@pytest.mark.parametrize(("request_body", "status", "field", "start"), [
    ({"model": "melody", "metre": "7/0"}, 400, "metre", "bad metre '7/0': the denominator"),
    ({"model": "melody", "key": "Q major"}, 400, "key", "bad key 'Q major': the tonic must be"),
    ({"model": "melody", "chords": "H7"}, 400, "chords", "bad chord symbol 'H7'"),
    ({"model": "performance", "key": "D major"}, 400, "key",
     "model performance was not trained with key conditioning; leave key empty"),
    ({"model": "performance", "chords": "Am F C G"}, 400, "chords",
     "model performance was not trained with chords conditioning"),
    ({"model": "../melody"}, 400, "model", "model '../melody' is not an id"),
    ({"model": "nothing"}, 404, "model", "no model 'nothing'; the models are: melody, "
                                         "performance"),
    ({"model": "melody", "primer": "t99"}, 404, "take", "no take 't99' here"),
    ({"model": "melody", "bars": 1000}, 400, "bars", "bars must be in 1..64, not 1000"),
])
def test_bad_requests_get_a_clear_json_error(client, request_body, status, field, start):
    response = client.post("/api/takes", json=request_body)
    assert response.status_code == status
    assert response.json()["field"] == field and response.json()["error"].startswith(start)


@pytest.mark.parametrize(("content", "start"), [
    (b"{not json", "the request is not JSON: "),
    (b"[1, 2]", "the request must be a JSON object"),
    (b"x" * 70_000, "the request is larger than 65,536 bytes"),
])
def test_malformed_bodies_are_refused(client, content, start):
    response = client.post("/api/takes", content=content)
    assert response.status_code in (400, 413) and response.json()["error"].startswith(start)


@pytest.mark.parametrize("path", ["/api/takes/t99", "/api/takes/t99/midi",
                                  "/api/takes/..%2F..%2Fetc%2Fpasswd/midi",
                                  "/api/takes/../../etc/passwd", "/static/../app.py",
                                  "/api/nothing"])
def test_unknown_takes_and_paths_are_json_errors(client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert response.headers["content-type"] == "application/json"
    assert "error" in response.json() and "root:" not in response.text


def test_a_wrong_method_is_a_json_error(client):
    response = client.delete("/api/takes")
    assert response.status_code == 405
    assert response.json()["error"] == "DELETE is not allowed on /api/takes"


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example:8765"},  # DNS rebinding: the attacker's name, our address
    {"Host": "127.0.0.1:9999"},
    {"Host": ""},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "https://127.0.0.1:8765"},
    {"Sec-Fetch-Site": "cross-site"},
])
def test_foreign_hosts_and_origins_are_refused(client, headers):
    for method, path in (("get", "/api/models"), ("post", "/api/takes"), ("get", "/")):
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 403 and response.json()["error"].startswith("refused: ")
    assert client.get("/api/takes").json()["takes"] == []  # nothing was made


@pytest.mark.parametrize("headers", [
    {}, {"Host": "localhost:8765"}, {"Host": "[::1]:8765"},
    {"Origin": "http://127.0.0.1:8765", "Sec-Fetch-Site": "same-origin"},
    {"Host": "localhost:8765", "Origin": "http://localhost:8765"},
])
def test_the_studios_own_names_are_accepted(client, headers):
    assert client.get("/api/models", headers=headers).status_code == 200


def test_host_names_for_an_explicit_host():
    assert host_names("192.0.2.7", 8000) == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000",
                                             "192.0.2.7:8000"}
    assert "localhost" in host_names("127.0.0.1", 80)


def test_old_takes_are_dropped_past_the_cap(studio_models):
    client, service = make_client(studio_models, audio=False, capacity=2)
    for seed in range(3):
        client.post("/api/takes", json={"model": "melody", "bars": 1, "seed": seed})
    assert [t["id"] for t in client.get("/api/takes").json()["takes"]] == ["t2", "t3"]
    assert client.get("/api/takes/t1").status_code == 404
    service.close()


def test_a_broken_model_is_listed_with_its_error_and_refused(studio_models, tmp_path):
    shutil.copytree(studio_models / "melody", tmp_path / "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.npz").write_bytes(b"PK\x03\x04 damaged")
    client, service = make_client(tmp_path, audio=False)
    listed = {m["id"]: m for m in client.get("/api/models").json()["models"]}
    assert "not a readable composer checkpoint" in listed["broken"]["error"]
    response = client.post("/api/takes", json={"model": "broken"})
    assert response.status_code == 400 and "not a readable composer checkpoint" in \
        response.json()["error"]
    assert client.post("/api/takes", json={"model": "good", "bars": 1}).status_code == 201
    service.close()


def test_the_shipped_model_is_offered_as_default(studio_models, tmp_path):
    client, service = make_client(tmp_path, audio=False,
                                  shipped=studio_models / "melody" / "model.npz")
    answer = client.get("/api/models").json()
    assert answer["default"] == "default"
    assert [(m["id"], m["shipped"]) for m in answer["models"]] == [("default", True)]
    service.close()
