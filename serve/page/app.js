// The page's behaviour: the checkpoints, the controls, composing through /api/compose (a stream
// of JSON lines: its place in the queue, then its progress, then the piece) and the session's pieces.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { models: [], pieces: [], upload: null, audio: false };

function showError(message) {
  $("error").textContent = message || "";
}

// The body of a failed response as its one line (every error of the API is {"error": "..."}).
async function errorOf(response) {
  try {
    return (await response.json()).error || `HTTP ${response.status}`;
  } catch (e) {
    return `HTTP ${response.status}`;
  }
}

function describeModel(m) {
  const oa = m.mean_oa === null ? "no music measured" : `last mean OA ${m.mean_oa.toFixed(3)}`;
  return `${m.preset || "preset unknown"}, ${m.vocabulary} tokens (${m.scheme}), trained ${m.trained}, ${oa}`;
}

async function loadModels() {
  const response = await fetch("/api/models");
  if (!response.ok) return showError(await errorOf(response));
  const data = await response.json();
  state.models = data.models;
  state.audio = data.audio;
  const select = $("model");
  select.replaceChildren(...data.models.map((m) => new Option(m.name, m.name)));
  if (!data.models.length) showError("no checkpoints found: start legato-serve with --models FOLDER");
  showModel();
}

// The control tokens' choices of the checkpoint (each "drawn from the corpus" by default); the
// fieldset is hidden for a checkpoint trained without them.
function showControls(m) {
  const controls = (m && m.controls) || {};
  ["key", "density", "style"].forEach((name) => {
    const values = controls[name] || [];
    $(`control-${name}`).replaceChildren(new Option("drawn from the corpus", ""),
                                         ...values.map((v) => new Option(v, v)));
    $(`control-${name}`).parentElement.hidden = !values.length;
  });
  $("control-tokens").hidden = !Object.keys(controls).length;
}

function showModel() {
  const m = state.models.find((x) => x.name === $("model").value);
  $("model-info").textContent = m ? describeModel(m) : "";
  showControls(m);
}

async function uploadPrimer() {
  const file = $("primer-file").files[0];
  state.upload = null;
  $("upload-status").textContent = "";
  showError("");
  if (!file) return;
  $("primer-upload-choice").checked = true;
  const response = await fetch("/api/uploads", { method: "POST", body: file,
                                                 headers: { "Content-Type": "audio/midi" } });
  if (!response.ok) return showError(`${file.name}: ${await errorOf(response)}`);
  const data = await response.json();
  state.upload = data.upload;
  const repaired = data.warnings.length ? `, repaired (${data.warnings.length} warnings)` : "";
  $("upload-status").textContent = `${file.name}: ${data.notes} notes${repaired}`;
}

function request() {
  const r = { model: $("model").value, length: Number($("length").value),
              temperature: Number($("temperature").value), top_k: Number($("top-k").value),
              top_p: Number($("top-p").value), one_part: $("one-part").checked };
  if (Number($("seconds").value) > 0) r.seconds = Number($("seconds").value);
  if ($("seed").value !== "") r.seed = Number($("seed").value);
  if ($("key").value !== "") r.key = Number($("key").value);
  const controls = {};
  ["key", "density", "style"].forEach((name) => {
    if (!$("control-tokens").hidden && $(`control-${name}`).value) controls[name] = $(`control-${name}`).value;
  });
  if (Object.keys(controls).length) {
    controls.key_strength = Number($("key-strength").value);
    controls.density_strength = Number($("density-strength").value);
    r.controls = controls;
  }
  const primer = document.querySelector("input[name=primer]:checked").value;
  if (primer === "last" && state.pieces.length) r.primer = { piece: state.pieces.at(-1).name };
  if (primer === "upload") {
    if (!state.upload) throw new Error("choose a MIDI file to start from (or another beginning)");
    r.primer = { upload: state.upload };
  }
  return r;
}

// One line of the compose stream.
function onEvent(e) {
  if (e.event === "queued") $("status").textContent = `waiting: place ${e.place} in the queue`;
  if (e.event === "running") {
    const of = e.seconds ? `until ${e.seconds} s of music` : `of ${e.length}`;
    $("status").textContent = `composing: ${e.tokens} tokens ${of}`;
  }
  if (e.event === "done") {
    $("status").textContent = `composed ${e.piece.name}`;
    addPiece(e.piece);
    showPiece(e.piece);
  }
  if (e.event === "error" || e.event === "cancelled") {
    $("status").textContent = "";
    showError(e.message);
  }
}

async function compose() {
  showError("");
  let body;
  try {
    body = JSON.stringify(request());
  } catch (e) {
    return showError(e.message);
  }
  $("compose").disabled = true;
  $("status").textContent = "sending";
  try {
    const response = await fetch("/api/compose", { method: "POST", body,
                                                   headers: { "Content-Type": "application/json" } });
    if (!response.ok) return showError(await errorOf(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let pending = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      const lines = pending.split("\n");
      pending = lines.pop();
      lines.filter((l) => l.trim()).forEach((l) => onEvent(JSON.parse(l)));
    }
  } catch (e) {
    showError(`the server cannot be reached (${e.message})`);
  } finally {
    $("compose").disabled = false;
  }
}

function summaryLine(p) {
  const ensemble = (p.ensemble ? `; ${p.ensemble}` : "") + (p.controls ? `; ${p.controls}` : "");
  return `${p.tokens} tokens, ${p.notes} notes, ${p.distinct} distinct tokens, longest run ${p.longest_run}, ` +
         `${p.seconds.toFixed(3)} s, seed ${p.seed}${ensemble}`;
}

function showFeatures(p) {
  const format = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(3).replace(/\.?0+$/, ""));
  const rows = Object.entries(p.features).map(([name, value]) => {
    const row = document.createElement("tr");
    const corpus = p.corpus_features ? p.corpus_features[name] : null;
    [name.replaceAll("_", " "), format(value), format(corpus)].forEach((text) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    });
    return row;
  });
  $("features").tBodies[0].replaceChildren(...rows);
}

function showPiece(p) {
  $("result").hidden = false;
  $("piece-title").textContent = `${p.name} (${p.model})`;
  $("summary").textContent = summaryLine(p);
  $("roll").src = `/files/${p.files.svg}`;
  $("download-mid").href = `/files/${p.files.mid}`;
  $("download-mid").download = p.files.mid;
  const wav = p.files.wav;
  $("download-wav").hidden = !wav;
  $("player").classList.toggle("silent", !wav);
  if (wav) {
    $("download-wav").href = `/files/${wav}`;
    $("download-wav").download = wav;
    $("audio").src = `/files/${wav}`;
  } else {
    $("audio").removeAttribute("src");
  }
  showFeatures(p);
}

function addPiece(p) {
  state.pieces.push(p);
  $("primer-last").disabled = false;
  const link = document.createElement("a");
  link.textContent = `${p.name}: ${p.notes} notes, ${p.model}`;
  link.addEventListener("click", () => showPiece(p));
  const item = document.createElement("li");
  item.append(link);
  $("pieces").append(item);
}

async function loadPieces() {
  const response = await fetch("/api/pieces");
  if (response.ok) (await response.json()).pieces.forEach(addPiece);
}

function bind() {
  $("model").addEventListener("change", showModel);
  $("length").addEventListener("input", () => ($("length-out").value = $("length").value));
  $("temperature").addEventListener("input", () => ($("temperature-out").value = $("temperature").value));
  $("primer-file").addEventListener("change", uploadPrimer);
  $("compose").addEventListener("click", compose);
  $("play").addEventListener("click", () => $("audio").play());
  $("stop").addEventListener("click", () => {
    $("audio").pause();
    $("audio").currentTime = 0;
  });
}

bind();
loadModels().then(loadPieces);
