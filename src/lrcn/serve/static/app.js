// The page of `lrcn serve`: drop a video or an image, see what each loaded model says; stream frames live.
// Hand-written, no framework, nothing fetched from anywhere but this server.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#9333ea"];  // the top classes; the rest are grey
const VIDEO_NAME = /\.(avi|mp4|m4v|mkv|webm|mov|mpe?g|ogv|wmv|flv|ts)$/i;
let models = [];

// ---- talking to the API ----------------------------------------------------------------------------------------

async function post(path, fields) {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(path, { method: "POST", body: form });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error || `${response.status} ${response.statusText}`);
  }
  return response.headers.get("content-type").includes("json") ? response.json() : response.blob();
}

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// ---- the chart: each class's probability over the frames ----------------------------------------------------

const W = 760, H = 190, PAD = { left: 34, right: 10, top: 10, bottom: 22 };

function chart(svg, rows, classes, { onSeek } = {}) {
  // rows: (T, C) running probabilities. The classes best at the last frame are coloured, on top of the others.
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const T = rows.length, last = rows[T - 1] || [];
  const order = classes.map((_, c) => c).sort((a, b) => (last[b] || 0) - (last[a] || 0));
  const colour = new Map(order.slice(0, COLOURS.length).map((c, i) => [c, COLOURS[i]]));
  const x = (t) => PAD.left + (T > 1 ? t / (T - 1) : 0.5) * (W - PAD.left - PAD.right);
  const y = (p) => H - PAD.bottom - p * (H - PAD.top - PAD.bottom);
  for (const p of [0, 0.5, 1]) {
    svg.append(el("svg:line", { x1: PAD.left, x2: W - PAD.right, y1: y(p), y2: y(p), class: "grid" }),
      el("svg:text", { x: PAD.left - 6, y: y(p) + 4, class: "axis", "text-anchor": "end", text: p.toFixed(1) }));
  }
  svg.append(el("svg:text", { x: PAD.left, y: H - 6, class: "axis", text: "frame 1" }),
    el("svg:text", { x: W - PAD.right, y: H - 6, class: "axis", "text-anchor": "end", text: `frame ${T}` }));
  for (const c of [...order].reverse()) {  // grey first, the best class drawn last (on top)
    const points = rows.map((row, t) => `${x(t).toFixed(1)},${y(row[c]).toFixed(1)}`).join(" ");
    const line = el("svg:polyline", { points, "data-class": classes[c], class: colour.has(c) ? "top" : "rest" });
    if (colour.has(c)) line.style.stroke = colour.get(c);
    line.append(el("svg:title", { text: classes[c] }));
    svg.append(line);
  }
  const cursor = el("svg:line", { x1: x(0), x2: x(0), y1: PAD.top, y2: H - PAD.bottom, class: "cursor" });
  svg.append(cursor);
  svg.dataset.frames = T;
  if (onSeek) {
    svg.classList.add("seekable");
    svg.onclick = (event) => {
      const box = svg.getBoundingClientRect();
      const fraction = ((event.clientX - box.left) * W / box.width - PAD.left) / (W - PAD.left - PAD.right);
      onSeek(Math.max(0, Math.min(T - 1, Math.round(fraction * (T - 1)))));
    };
  }
  return { colour, moveTo: (t) => { cursor.setAttribute("x1", x(t)); cursor.setAttribute("x2", x(t)); } };
}

function legend(classes, colour) {
  return el("div", { class: "legend" }, ...[...colour].map(([c, hex]) =>
    el("span", {}, el("i", { style: `background:${hex}` }), classes[c])));
}

function bars(top, colourOf = () => COLOURS[0]) {
  return top.map((t) => el("div", { class: "bar" },
    el("span", { class: "name", text: t.label }),
    el("span", { class: "track" }, el("span", { class: "fill", style: `width:${(100 * t.score).toFixed(1)}%;background:${colourOf(t.label)}` })),
    el("span", { class: "value", text: t.score.toFixed(2) })));
}

// ---- one card per model -------------------------------------------------------------------------------------------

function card(model) {
  const body = el("div", { class: "body" }, el("p", { class: "note working", text: "working..." }));
  const node = el("article", { class: "card", "data-task": model.task, "data-model": model.name },
    el("h3", {}, model.name, el("small", { text: ` ${model.task}` })), body);
  $("answers").append(node);
  return body;
}

async function answer(model, path, fields, render) {
  const body = card(model);
  try {
    const result = await post(path, { ...fields, model: model.name });
    body.replaceChildren(...render(result));
  } catch (error) {
    body.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

function classifyCard(result) {
  // The label and top-k (the paper's video label: the softmax averaged over clips), then the timeline.
  const player = $("player"), T = result.frames;
  const readout = el("p", { class: "note readout" });
  const svg = el("svg:svg", { class: "chart timeline", role: "img", "aria-label": "class probabilities per frame" });
  const frameAt = () => Math.min(T - 1, Math.floor(player.duration ? player.currentTime / player.duration * T : 0));
  const view = chart(svg, result.timeline, result.classes, {
    onSeek: (t) => { if (player.duration) player.currentTime = (t + 0.5) / T * player.duration; follow(t); },
  });
  const colourOf = (label) => view.colour.get(result.classes.indexOf(label)) || "#9ca3af";
  function follow(t) {
    view.moveTo(t);
    const row = result.timeline[t], best = row.indexOf(Math.max(...row));
    readout.textContent = `frame ${t + 1} of ${T}: running label ${result.classes[best]} (${row[best].toFixed(2)})`;
  }
  const tick = () => { follow(frameAt()); if (!player.paused) requestAnimationFrame(tick); };
  player.addEventListener("play", tick);
  player.addEventListener("seeked", tick);
  follow(T - 1);
  return [
    el("p", { class: "label", text: result.label }, el("small", { text: ` ${result.score.toFixed(2)}` })),
    el("div", { class: "bars" }, ...bars(result.top, colourOf)),
    el("p", { class: "note", text: `The running softmax of the LSTM at each of the ${T} frames: the answer forming as ` +
      "the frames are read. Click to seek." }),
    svg, legend(result.classes, view.colour), readout,
  ];
}

function captionCard(result) {
  const alternatives = (result.alternatives || []).map((a) =>
    el("li", {}, a.caption, el("small", { text: ` log p = ${a.logprob.toFixed(2)}` })));
  return [
    el("p", { class: "sentence", text: result.caption }),
    el("p", { class: "note", text: `log p = ${result.logprob.toFixed(2)}` }),
    ...(alternatives.length ? [el("p", { class: "note", text: "The beam's other sentences:" }), el("ol", { class: "alternatives" }, ...alternatives)] : []),
  ];
}

function describeCard(result) {
  const rows = Object.entries(result.sr).map(([slot, v]) => el("tr", {},
    el("th", { text: slot }), el("td", { text: v.label }),
    el("td", {}, el("span", { class: "track" }, el("span", { class: "fill", style: `width:${(100 * v.prob).toFixed(1)}%` }))),
    el("td", { class: "value", text: v.prob.toFixed(2) })));
  return [el("p", { class: "sentence", text: result.sentence }),
    el("p", { class: "note", text: "The semantic representation (SR) the CRF read, each slot with its probability:" }),
    el("table", { class: "sr" }, ...rows)];
}

// ---- a dropped file -------------------------------------------------------------------------------------------------

const isVideo = (file) => file.type.startsWith("video/") || VIDEO_NAME.test(file.name);

function play(video, file, note) {
  // Play the file itself; one the browser cannot play (AVI, MPEG-4 part 2, ...) comes back from the server as WebM.
  video.src = URL.createObjectURL(file);
  video.onerror = async () => {
    video.onerror = null;
    note.textContent = "This browser cannot play the file: showing the frames the server decoded (WebM)...";
    try {
      video.src = URL.createObjectURL(await post("/v1/preview", { video: file }));
      note.textContent = "";
    } catch (error) {
      note.textContent = `Cannot show this video: ${error.message}`;
    }
  };
}

function show(file) {
  $("results").hidden = false;
  $("file-name").textContent = file.name;
  $("answers").replaceChildren();
  $("player-note").textContent = "";
  const video = isVideo(file), player = $("player"), picture = $("picture");
  player.hidden = !video;
  picture.hidden = video;
  player.pause();
  const replacement = player.cloneNode();  // drop the listeners of the previous file's timelines
  player.replaceWith(replacement);
  const beam = Math.max(1, parseInt($("beam").value, 10) || 1);
  const of = (task) => models.filter((m) => m.task === task);
  if (video) {
    play(replacement, file, $("player-note"));
    for (const m of of("activity")) answer(m, "/v1/classify", { video: file }, classifyCard);
    for (const m of of("describe")) answer(m, "/v1/describe", { video: file, beam }, describeCard);
    if (!of("activity").length && !of("describe").length) $("player-note").textContent = "No activity or describe model is loaded.";
  } else {
    picture.src = URL.createObjectURL(file);
    for (const m of of("caption")) answer(m, "/v1/caption", { image: file, beam }, captionCard);
    if (!of("caption").length) $("player-note").textContent = "No caption model is loaded.";
  }
}

// ---- live: the camera, or a video file standing in for one ---------------------------------------------------
// A camera's frames are sent as they come, at most IN_FLIGHT unanswered (the ones the server cannot keep up with are
// skipped, as a live source's would be). A file is stepped through at 25 frames a second of its time, each frame sent
// once the previous one is answered, so that every frame reaches the LSTM, however fast the server is.

const live = { ws: null, stream: null, timer: 0, inflight: 0, rows: [], classes: [], next: null };
const MAX_SIDE = 320, IN_FLIGHT = 2, HISTORY = 400, STEP = 1 / 25;

function stopLive(status) {
  if (live.ws) live.ws.close();
  if (live.stream) live.stream.getTracks().forEach((track) => track.stop());
  clearInterval(live.timer);
  Object.assign(live, { ws: null, stream: null, timer: 0, inflight: 0, next: null });
  const video = $("live-video");
  video.pause();
  video.onseeked = null;
  $("stop").disabled = true;
  if (status) $("live-status").textContent = status;
}

function sendFrame(video, canvas) {
  // The frame on screen, at most MAX_SIDE pixels on its longer side, as a JPEG: one binary message.
  const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
  canvas.width = Math.max(1, Math.round(video.videoWidth * scale));
  canvas.height = Math.max(1, Math.round(video.videoHeight * scale));
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  live.inflight += 1;
  const ws = live.ws;
  canvas.toBlob((blob) => (blob && ws.readyState === WebSocket.OPEN ? ws.send(blob) : (live.inflight -= 1)), "image/jpeg", 0.85);
}

function showLive(message) {
  live.rows.push(message.probs);
  if (live.rows.length > HISTORY) live.rows.shift();
  const view = chart($("live-chart"), live.rows, live.classes);
  view.moveTo(live.rows.length - 1);
  $("live-label").textContent = message.label;
  $("live-label").dataset.frames = message.frame + 1;
  $("live-bars").replaceChildren(...bars(message.top, (label) => view.colour.get(live.classes.indexOf(label)) || "#9ca3af"));
  $("live-status").textContent = `frame ${message.frame + 1}`;
}

function startLive(setSource) {
  stopLive();
  const video = $("live-video");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/stream?model=${encodeURIComponent($("live-model").value)}&top_k=5`);
  Object.assign(live, { ws, rows: [], classes: [] });
  $("stop").disabled = false;
  $("live-status").textContent = "connecting...";
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.classes) { live.classes = message.classes; setSource(video); return; }
    if ("frame" in message) live.inflight = Math.max(0, live.inflight - 1);
    if (message.error) $("live-status").textContent = message.error;
    else if (message.probs) showLive(message);
    if (live.next && "frame" in message) live.next();
  };
  ws.onclose = (event) => { if (live.ws === ws) stopLive(event.reason || "the stream has closed"); };
}

async function useCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    startLive((video) => {
      const canvas = document.createElement("canvas");
      live.stream = stream;
      video.srcObject = stream;
      video.play();
      live.timer = setInterval(() => {
        if (live.ws && live.ws.readyState === WebSocket.OPEN && live.inflight < IN_FLIGHT && video.readyState >= 2) sendFrame(video, canvas);
      }, 40);
      $("live-status").textContent = "camera on";
    });
  } catch (error) {
    $("live-status").textContent = `No camera: ${error.message}. Stream a video file instead.`;
  }
}

function streamFile(file) {
  startLive((video) => {
    const canvas = document.createElement("canvas");
    video.srcObject = null;
    video.pause();
    video.onseeked = () => live.ws && sendFrame(video, canvas);
    live.next = () => {
      if (video.currentTime + STEP >= video.duration) { live.next = null; $("live-status").textContent += " (the file has ended)"; return; }
      video.currentTime += STEP;
    };
    video.addEventListener("loadeddata", () => { video.currentTime = STEP / 2; }, { once: true });
    play(video, file, $("live-status"));
  });
}

// ---- start ------------------------------------------------------------------------------------------------------

async function init() {
  models = (await (await fetch("/v1/models")).json()).models;
  $("models").replaceChildren(...models.map((m) => el("span", { class: `chip ${m.task}`, text: `${m.name} · ${m.task}` })));
  const activity = models.filter((m) => m.task === "activity");
  $("live").hidden = !activity.length;
  $("live-model").replaceChildren(...activity.map((m) => el("option", { value: m.name, text: m.name })));
  $("file").onchange = (event) => event.target.files[0] && show(event.target.files[0]);
  $("live-file").onchange = (event) => event.target.files[0] && streamFile(event.target.files[0]);
  $("camera").onclick = useCamera;
  $("stop").onclick = () => stopLive("stopped");
  const drop = $("drop");
  drop.ondragover = (event) => { event.preventDefault(); drop.classList.add("over"); };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files[0]) show(event.dataTransfer.files[0]);
  };
  document.body.dataset.ready = "true";
}

init().catch((error) => { $("models").textContent = `Cannot reach the server: ${error.message}`; });
