// composer studio: the page's controller. Talks to the JSON API of composer.studio.app,
// draws takes with roll.js and plays them with sound.js. Plain ES modules, no build step.

import { PianoRoll, drawThumbnail } from "./roll.js";
import { audioFor } from "./sound.js";

const $ = (id) => document.getElementById(id);
const state = { models: [], limits: {}, takes: [], current: null, primer: null, playing: false,
  view: "roll", scores: { server: false, note: "" } };
const audioCache = new Map();  // take id -> {url, source, download}
const AUDIO_CACHE = 8;  // synthesised WAVs kept as blob URLs
const roll = new PianoRoll($("roll"));
window.studioTimings = [];  // per take: clicked, shown, audible (performance.now() ms)

// --- talking to the server ---------------------------------------------------------

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw Object.assign(new Error(body.error || "request failed"), { field: body.field });
  return body;
}

async function loadModels() {
  const answer = await api("/api/models");
  state.models = answer.models;
  state.limits = answer.limits;
  const select = $("model");
  select.replaceChildren(...answer.models.map((m) => {
    const label = m.error ? `${m.id} (cannot be read)` : `${m.id}${m.shipped ? " (shipped)" : ""}`;
    return Object.assign(document.createElement("option"), { value: m.id, textContent: label, disabled: !!m.error });
  }));
  if (answer.default) select.value = answer.default;
  $("bars").max = state.limits.max_bars;
  $("audio-status").textContent = answer.audio.server
    ? "Sound: FluidSynth on this machine" : "Sound: synthesised in this page (no FluidSynth on the server)";
  $("audio-status").title = answer.audio.note;
  state.scores = answer.score || state.scores;
  $("view-score").title = state.scores.server ? $("view-score").title : state.scores.note;
  modelChanged();
}

const currentModel = () => state.models.find((m) => m.id === $("model").value);
const usable = (model) => !!model && !model.error;

function modelChanged() {
  const model = currentModel();
  $("generate").disabled = !usable(model);
  if (!model) {
    $("model-about").textContent = "No model here: train one with `composer train DATA_DIR` in the folder "
      + "where you started the studio (it looks in models/).";
    return;
  }
  if (model.error) { $("model-about").textContent = model.error; return; }
  const nll = model.valid_nll == null ? "" : ` · validation NLL ${model.valid_nll.toFixed(3)}`;
  $("model-about").textContent = `${model.encoding} encoding · ${(model.parameters / 1000).toFixed(0)}k parameters · `
    + `${model.pieces} pieces of ${model.trained_on || "?"}${nll}`;
  const heard = model.supports;
  for (const [id, control] of [["key", "key"], ["chords", "chords"], ["scale-lock", "scale_lock"]]) {
    $(id).disabled = !heard[control];
  }
  const deaf = ["key", "chords"].filter((c) => !heard[c]);
  $("conditioning-note").textContent = deaf.length
    ? `Off: ${model.id} was trained without ${deaf.join(" or ")} conditioning. `
      + "The metre still sets the bars and the time signature."
    : "This model follows the key and chords you give.";
}

function requestBody() {
  const text = (id) => ($(id).disabled || !$(id).value.trim() ? null : $(id).value.trim());
  const number = (id) => ($(id).value === "" ? null : Number($(id).value));
  return {
    model: $("model").value, bars: number("bars"), metre: text("metre"), key: text("key"),
    chords: text("chords"), scale_lock: !$("scale-lock").disabled && $("scale-lock").checked,
    temperature: Number($("temperature").value), top_p: Number($("top-p").value),
    seed: number("seed"), qpm: number("qpm"), program: Number($("program").value),
    primer: state.primer,
  };
}

// --- making takes ------------------------------------------------------------------

async function generate() {
  const button = $("generate");
  if (button.disabled) return;
  const timing = { clicked: performance.now() };
  button.disabled = true;
  button.classList.add("busy");
  button.firstChild.textContent = "Composing… ";
  say("");
  try {
    const take = await api("/api/takes", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(requestBody()),
    });
    addTake(take);
    await select(take, timing);
  } catch (error) {
    fail(error);
  } finally {
    button.disabled = !usable(currentModel());
    button.classList.remove("busy");
    button.firstChild.textContent = "Generate ";
  }
}

async function upload(file) {
  if (!file) return;
  if (file.size > state.limits.max_upload_bytes) {
    fail(new Error(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; the studio takes MIDI files up to `
      + `${(state.limits.max_upload_bytes / 1e6).toFixed(1)} MB`));
    return;
  }
  try {
    const take = await api("/api/uploads", {
      method: "POST", headers: { "Content-Type": "audio/midi", "X-File-Name": encodeURIComponent(file.name) },
      body: file,
    });
    addTake(take);
    await select(take, { clicked: performance.now() });
    setPrimer(take);
  } catch (error) {
    fail(error);
  } finally {
    $("upload").value = "";
  }
}

function say(text, kind = "") {
  $("message").textContent = text;
  $("message").className = `message ${kind}`;
}

function fail(error) {
  say(error.message, "error");
  const field = { scale_lock: "scale-lock", top_p: "top-p", length: "bars" }[error.field] || error.field;
  const input = field && $(field);
  document.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  if (input && input.focus) { input.setAttribute("aria-invalid", "true"); input.focus(); }
}

function setPrimer(take) {
  state.primer = take ? take.id : null;
  if (take) {  // the primer's metre and tempo carry on unless the musician changes them
    $("metre").value = take.metre;
    $("qpm").value = Math.round(take.qpm);
  }
  $("primer-status").textContent = take
    ? `Continuing ${take.title} (${take.figures.bars} bars of ${take.metre}): the next take starts with it.`
    : "None: each take starts afresh.";
  $("clear-primer").hidden = !take;
  renderList();
}

// --- showing a take ----------------------------------------------------------------

function addTake(take) {
  state.takes.push(take);
  renderList();
}

async function select(take, timing = null) {
  stop();
  state.current = take;
  roll.show(take);
  if (timing) timing.shown = performance.now();
  $("take-title").textContent = take.title;
  $("take-meta").textContent = describe(take);
  $("take-notice").textContent = take.notice || "";
  $("take-notice").hidden = !take.notice;
  showFigures(take);
  $("continue").disabled = false;
  enableLink($("download-midi"), take.midi_url, `${take.source === "upload" ? take.title.replace(/\.midi?$/i, "") : `composer-take-${take.id.slice(1)}`}.mid`);
  enableLink($("download-abc"), take.abc_url, $("download-midi").download.replace(/\.mid$/, ".abc"));
  if (state.view === "score") showScore(take);
  renderList();
  await prepareAudio(take, timing);
}

// --- the score view: the take engraved on the server (Verovio), as an image -----------

function setView(view) {
  state.view = view;
  $("view-roll").setAttribute("aria-pressed", String(view === "roll"));
  $("view-score").setAttribute("aria-pressed", String(view === "score"));
  $("roll-wrap").hidden = view !== "roll";
  $("score-wrap").hidden = view !== "score";
  if (view === "roll") { roll.layout(); roll.draw(); }
  else showScore(state.current);
}

function showScore(take) {
  const image = $("score");
  const status = $("score-status");
  if (!take) { image.hidden = true; status.textContent = "No take yet."; return; }
  if (!state.scores.server) { image.hidden = true; status.textContent = `No score: ${state.scores.note}`; return; }
  if (image.dataset.take === take.id) return;
  image.hidden = true;
  status.textContent = "Engraving…";
  image.onload = () => { if (state.current === take) { image.hidden = false; status.textContent = ""; } };
  image.onerror = async () => {
    const answer = await api(take.score_url).catch((error) => error);
    if (state.current === take) status.textContent = `No score: ${answer.message || "it could not be drawn"}`;
  };
  image.dataset.take = take.id;
  image.src = take.score_url;
}

const toggleView = () => setView(state.view === "roll" ? "score" : "roll");

function describe(take) {
  const s = take.settings;
  const parts = [`${take.figures.bars} bars of ${take.metre}`, `♩ = ${Math.round(take.qpm)}`];
  if (take.source === "upload") return [...parts, "uploaded file"].join(" · ");
  parts.push(`seed ${s.seed}`, `model ${s.model}`, `temperature ${s.temperature.toFixed(2)}`, `top-p ${s.top_p.toFixed(2)}`);
  if (s.key) parts.push(s.key);
  if (s.chords) parts.push(s.chords);
  const primer = s.primer && state.takes.find((t) => t.id === s.primer);
  if (primer) parts.push(`continues ${primer.title}`);
  return parts.join(" · ");
}

const percent = (x) => (x == null ? "–" : `${(100 * x).toFixed(1)}%`);

function showFigures(take) {
  const f = take.figures;
  const cards = [
    ["Notes in key", percent(f.in_key_share), f.key ? `${f.key} (${f.key_source})` : "no key found"],
    ["Chord tones", percent(f.chord_tone_share), f.chord_tone_share == null ? "no chords asked" : "on-beat notes"],
    ["Repeats", percent(f.repeated_share), "in runs of 6+ notes"],
    ["Notes", String(f.notes), f.notes_per_bar == null ? "" : `${f.notes_per_bar.toFixed(1)} a bar`],
    ["Range", f.lowest ? `${f.lowest}–${f.highest}` : "–", "lowest to highest"],
    ["Large leaps", percent(f.leap_share), "wider than a fifth"],
  ];
  if (take.timing.generate_ms != null) cards.push(["Composed in", `${Math.round(take.timing.generate_ms)} ms`, `${take.timing.tokens} tokens`]);
  $("figures").replaceChildren(...cards.map(([name, value, note]) => {
    const box = document.createElement("div");
    const dt = Object.assign(document.createElement("dt"), { textContent: name });
    const dd = Object.assign(document.createElement("dd"), { textContent: value });
    dd.append(Object.assign(document.createElement("small"), { textContent: note }));
    box.append(dt, dd);
    return box;
  }));
}

function enableLink(link, href, name) {
  link.href = href;
  link.download = name;
  link.classList.remove("disabled");
  link.removeAttribute("aria-disabled");
}

async function prepareAudio(take, timing) {
  const audio = $("audio");
  $("play").disabled = true;
  $("audio-source").textContent = "preparing sound…";
  let sound = audioCache.get(take.id);
  if (!sound) {
    sound = await audioFor(take);
    audioCache.set(take.id, sound);
    if (audioCache.size > AUDIO_CACHE) forget(audioCache.keys().next().value);
  }
  if (state.current !== take) return;
  audio.src = sound.url;
  enableLink($("download-wav"), sound.download, $("download-midi").download.replace(/\.mid$/, ".wav"));
  await new Promise((resolve) => {
    audio.addEventListener("loadedmetadata", resolve, { once: true });
    audio.addEventListener("error", resolve, { once: true });
  });
  if (state.current !== take) return;
  if (audio.error) { $("audio-source").textContent = "the sound could not be loaded"; return; }
  $("play").disabled = false;
  $("audio-source").textContent = sound.source;
  updateClock();
  if (timing) {
    timing.audible = performance.now();
    window.studioTimings.push({ take: take.id, ...timing });
  }
}

function forget(takeId) {
  const sound = audioCache.get(takeId);
  if (sound && sound.url.startsWith("blob:")) URL.revokeObjectURL(sound.url);
  audioCache.delete(takeId);
}

function renderList() {
  const list = $("take-list");
  $("no-takes").hidden = state.takes.length > 0;
  list.replaceChildren(...[...state.takes].reverse().map((take) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = take === state.current ? "current" : "";
    button.dataset.take = take.id;
    const name = Object.assign(document.createElement("span"), { className: "name", textContent: take.title });
    const badge = Object.assign(document.createElement("span"), { className: "badge", textContent: "primer" });
    badge.hidden = state.primer !== take.id;
    const seed = take.source === "upload" ? "uploaded" : `seed ${take.settings.seed}`;
    const meta = Object.assign(document.createElement("span"), {
      className: "meta", textContent: `${take.figures.bars} bars · ${take.metre} · ${seed}`,
    });
    const thumb = document.createElement("canvas");
    button.append(name, badge, meta, thumb);
    button.addEventListener("click", () => select(take));
    const item = document.createElement("li");
    item.append(button);
    return item;
  }));
  list.querySelectorAll("canvas").forEach((canvas, i) => drawThumbnail(canvas, state.takes[state.takes.length - 1 - i]));
}

// --- playing -------------------------------------------------------------------------

const beatsOf = (seconds) => (seconds * state.current.qpm) / 60;
const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

function updateClock() {
  const audio = $("audio");
  const total = state.current ? (state.current.end * 60) / state.current.qpm : 0;
  $("clock").textContent = `${clock(audio.currentTime || 0)} / ${clock(total)}`;
}

function tick() {
  if (!state.playing) return;
  const audio = $("audio");
  const beat = beatsOf(audio.currentTime);
  roll.setPlayhead(beat <= state.current.end ? beat : null);
  updateClock();
  requestAnimationFrame(tick);
}

async function togglePlay() {
  const audio = $("audio");
  if (!state.current || $("play").disabled) return;
  if (state.playing) { stop(false); return; }
  if (audio.ended || beatsOf(audio.currentTime) >= state.current.end) audio.currentTime = 0;
  try {
    await audio.play();
  } catch (error) {
    say(`cannot play: ${error.message}`, "error");
    return;
  }
  state.playing = true;
  $("play").innerHTML = "&#10073;&#10073;";
  $("play").setAttribute("aria-label", "Pause");
  requestAnimationFrame(tick);
}

function stop(rewind = true) {
  const audio = $("audio");
  audio.pause();
  if (rewind && audio.src) audio.currentTime = 0;
  state.playing = false;
  $("play").innerHTML = "&#9654;";
  $("play").setAttribute("aria-label", "Play");
  if (state.current) roll.setPlayhead(rewind ? null : beatsOf(audio.currentTime));
  updateClock();
}

function seek(event) {
  if (!state.current || $("play").disabled) return;
  const beat = Math.min(roll.beatAt(event.clientX), state.current.end);
  $("audio").currentTime = (beat * 60) / state.current.qpm;
  roll.setPlayhead(beat);
  updateClock();
}

// --- keyboard and wiring -------------------------------------------------------------

function step(offset) {
  if (!state.takes.length) return;
  const index = state.takes.indexOf(state.current) + offset;
  if (index >= 0 && index < state.takes.length) select(state.takes[index]);
}

const randomSeed = () => { $("seed").value = Math.floor(Math.random() * 1e6); };

function onKey(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); generate(); return; }
  const typing = event.target.closest("input, select, textarea, [contenteditable]");
  if (event.key === "Escape" && typing) { event.target.blur(); return; }
  if (typing || event.ctrlKey || event.metaKey || event.altKey || $("keys").open) return;
  const actions = {
    " ": togglePlay, g: generate, G: generate, Enter: generate, c: continueTake, C: continueTake,
    s: toggleView, S: toggleView,
    ArrowLeft: () => step(-1), ArrowRight: () => step(1), r: randomSeed, R: randomSeed,
    Home: () => stop(true), "?": () => $("keys").showModal(),
  };
  if (event.key === " " && event.target.closest("button, a")) return;
  if (event.key === "Enter" && event.target.closest("button, a, label")) return;
  const action = actions[event.key];
  if (action) { event.preventDefault(); action(); }
}

function continueTake() {
  if (state.current) { setPrimer(state.current); say(`The next take continues ${state.current.title}.`, "ok"); }
}

function wire() {
  $("controls").addEventListener("submit", (event) => { event.preventDefault(); generate(); });
  $("controls").addEventListener("input", (event) => event.target.removeAttribute("aria-invalid"));
  $("model").addEventListener("change", modelChanged);
  for (const id of ["temperature", "top-p"]) {
    $(id).addEventListener("input", () => { $(`${id}-value`).textContent = Number($(id).value).toFixed(2); });
  }
  $("dice").addEventListener("click", randomSeed);
  $("upload").addEventListener("change", () => upload($("upload").files[0]));
  $("clear-primer").addEventListener("click", () => setPrimer(null));
  $("continue").addEventListener("click", continueTake);
  $("play").addEventListener("click", togglePlay);
  $("audio").addEventListener("ended", () => stop(false));
  $("roll").addEventListener("click", seek);
  $("show-keys").addEventListener("click", () => $("keys").showModal());
  $("view-roll").addEventListener("click", () => setView("roll"));
  $("view-score").addEventListener("click", () => setView("score"));
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", () => { roll.layout(); roll.draw(); });
}

wire();
roll.show(null);
loadModels().catch((error) => fail(error));
