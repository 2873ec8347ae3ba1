// contrib/web/static/app.js - the page of the krigd web demo (no libraries).
// The map is one lon/lat frame: the PNG's pixels (square on the ground, row 0
// the north edge of the result's bbox) and an SVG overlay whose viewBox is
// that pixel grid, so the outline and the stations land where krigd put them.
'use strict';

const $ = (id) => document.getElementById(id);
const FINISHED = ['done', 'dead', 'cancelled'];
const S = {
  sources: [], boundary: null, frame: null, job: null, jobId: null,
  frameIdx: 0, grid: null, gridUrl: null, palette: null, seen: new Set(),
};

async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || (url + ': HTTP ' + r.status));
  return body;
}

// ---- geometry -------------------------------------------------------------
// A frame: west/north edges, cell size dx/dy in degrees, cols x rows pixels.
function frameFromBbox(bbox, cols, rows) {
  const [w, s, e, n] = bbox;
  return { west: w, north: n, dx: (e - w) / cols, dy: (n - s) / rows, cols, rows };
}
// Before any image: the layout krigd uses (docs/DESIGN.md "Geometry"), 600 wide.
function defaultFrame(gj) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  eachRing(gj, (ring) => ring.forEach(([x, y]) => {
    w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y);
  }));
  const cols = 600, dx = (e - w) / cols;
  const dy = dx * Math.cos(((s + n) / 2) * Math.PI / 180);
  const rows = Math.ceil((n - s) / dy);
  return { west: w, north: s + rows * dy, dx, dy, cols, rows };
}
function eachRing(gj, f) {
  const geom = (g) => {
    if (!g) return;
    if (g.type === 'FeatureCollection') g.features.forEach((x) => geom(x.geometry));
    else if (g.type === 'Feature') geom(g.geometry);
    else if (g.type === 'Polygon') g.coordinates.forEach(f);
    else if (g.type === 'MultiPolygon') g.coordinates.forEach((p) => p.forEach(f));
    else if (g.type === 'GeometryCollection') g.geometries.forEach(geom);
  };
  if (Array.isArray(gj)) gj.forEach(f); else geom(gj);
}
const project = (f, lon, lat) => [(lon - f.west) / f.dx, (f.north - lat) / f.dy];

function setFrame(f) {
  S.frame = f;
  const svg = $('overlay');
  svg.setAttribute('viewBox', `0 0 ${f.cols} ${f.rows}`);
  $('map').style.aspectRatio = `${f.cols} / ${f.rows}`;
  let d = '';
  eachRing(S.boundary, (ring) => {
    ring.forEach(([lon, lat], i) => {
      const [x, y] = project(f, lon, lat);
      d += (i ? 'L' : 'M') + x.toFixed(2) + ' ' + y.toFixed(2);
    });
    d += 'Z';
  });
  $('outline').setAttribute('d', d);
}

// The isobands (GeoJSON MultiPolygons, lon/lat) as SVG paths in the
// frame's pixel grid, filled with each band's own colour.
async function drawBands(url) {
  const g = $('bands-layer');
  g.replaceChildren();
  delete $('map').dataset.bands;
  if (!url || !$('bands').checked) return;
  const gj = await getJSON(url);
  if (S.job && S.job.frames[S.frameIdx] && S.job.frames[S.frameIdx].isobands !== url) return;
  for (const ft of gj.features) {
    let d = '';
    eachRing(ft, (ring) => {
      ring.forEach(([lon, lat], i) => {
        const [x, y] = project(S.frame, lon, lat);
        d += (i ? 'L' : 'M') + x.toFixed(2) + ' ' + y.toFixed(2);
      });
      d += 'Z';
    });
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', d);
    path.setAttribute('fill', ft.properties.color);
    path.setAttribute('fill-rule', 'evenodd');
    path.setAttribute('stroke', '#333');
    path.setAttribute('stroke-width', 0.5);
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    const p = ft.properties;
    t.textContent = `level ${p.level}: ${p.min == null ? '' : p.min} .. ${p.max == null ? '' : p.max}`;
    path.appendChild(t);
    g.appendChild(path);
  }
  $('map').dataset.bands = 'drawn';
}

function drawStations(points) {
  const g = $('stations-layer');
  g.replaceChildren();
  const r = S.frame.cols / 160;
  for (const p of points || []) {
    if (p.lon == null || p.lat == null) continue;
    const [x, y] = project(S.frame, p.lon, p.lat);
    const c = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
    c.setAttribute('cx', x); c.setAttribute('cy', y); c.setAttribute('r', r);
    c.setAttribute('class', 'station');
    c.dataset.lon = p.lon; c.dataset.lat = p.lat; c.dataset.value = p.value;
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'title');
    t.textContent = `station ${p.lon.toFixed(4)}, ${p.lat.toFixed(4)}: ${p.value}`;
    c.appendChild(t);
    g.appendChild(c);
  }
}

// ---- legend ---------------------------------------------------------------
async function showLegend(index) {
  const leg = $('legend');
  if (!S.palette || S.palette.index !== index) S.palette = await getJSON('/api/palette?index=' + encodeURIComponent(index || ''));
  const p = S.palette;
  leg.replaceChildren();
  const title = document.createElement('div');
  title.className = 'title';
  leg.appendChild(title);
  if (!p.levels) {
    const range = gridRange();
    title.textContent = `${index}: continuous colour ramp over the data (no HJ 633 levels for this index)`;
    const lo = document.createElement('span'), ramp = document.createElement('div'), hi = document.createElement('span');
    lo.textContent = range ? range[0].toFixed(1) : ''; hi.textContent = range ? range[1].toFixed(1) : '';
    ramp.className = 'ramp';
    leg.append(lo, ramp, hi);
    return;
  }
  title.textContent = `${index}${p.unit ? ' (' + p.unit + ')' : ''} — HJ 633-2012 levels`;
  for (const l of p.levels) {
    const item = document.createElement('div');
    item.className = 'item';
    item.dataset.level = l.level;
    const sw = document.createElement('div');
    sw.className = 'swatch';
    sw.style.background = `rgb(${l.rgb.join(',')})`;
    const txt = document.createElement('div');
    txt.textContent = (l.to == null ? `> ${l.from}` : `${l.from}–${l.to}`) + ' ' + l.name;
    item.append(sw, txt);
    leg.appendChild(item);
  }
}
function levelOf(v) {
  const p = S.palette;
  if (!p || !p.levels) return null;
  for (const l of p.levels) if (l.to == null || v <= l.to) return l;
  return null;
}
function gridRange() {
  if (!S.grid) return null;
  let lo = Infinity, hi = -Infinity;
  for (const v of S.grid.values) if (v != null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  return lo <= hi ? [lo, hi] : null;
}

// ---- the job --------------------------------------------------------------
function setStatus(state) {
  const st = $('status');
  st.textContent = state;
  st.className = 'state ' + state;
}
// The status of a job only moves forward: answers to polls and events
// arrive in any order, and a late "pending" must not undo "running".
const RANK = { submitted: 0, pending: 1, running: 2 };
function rank(state) { return state in RANK ? RANK[state] : 3; }
function advanceStatus(state) {
  if (rank(state) > rank($('status').textContent)) setStatus(state);
}
function progress(text) {
  if (S.seen.has(text)) return;
  S.seen.add(text);
  const li = document.createElement('li');
  li.textContent = new Date().toLocaleTimeString() + '  ' + text;
  $('progress').appendChild(li);
}
function startJob(id) {
  S.jobId = id; S.job = null; S.seen = new Set();
  $('job-box').hidden = false;
  $('job-id').textContent = '#' + id;
  $('progress').replaceChildren();
  $('callback').textContent = '';
  $('error').hidden = true;
  setStatus('submitted');
  progress('trigger sent over the socket, job ' + id + ' queued');
  refreshJob(id);
}
async function refreshJob(id) {
  let v;
  try { v = await getJSON('/api/job/' + id); } catch (e) { progress('error: ' + e.message); return; }
  if (id !== S.jobId) return;
  if (v.callback === 'verified') $('callback').textContent = '✔ callback signature verified';
  // An event may have moved the status on while this was in flight.
  advanceStatus(v.state);
  if (FINISHED.includes(v.state)) showJob(v);
}
function showJob(v) {
  S.job = v;
  const err = $('error');
  if (v.state === 'dead' || v.state === 'cancelled') {
    err.hidden = false;
    err.textContent = v.last_error || v.state;
  } else {
    err.hidden = true;
  }
  const frames = v.frames || [];
  const slider = $('slider');
  slider.max = Math.max(0, frames.length - 1);
  slider.value = 0;
  $('slider-box').hidden = frames.length === 0;
  const facts = [];
  if (v.variogram) facts.push(`variogram ${v.variogram.model} (${v.variogram.source}): nugget ${(+v.variogram.nugget).toPrecision(3)}, partial sill ${(+v.variogram.psill).toPrecision(3)}, range ${Math.round(v.variogram.range)} m`);
  if (v.stations) facts.push(`stations used ${v.stations.used}, merged ${v.stations.merged}, dropped ${v.stations.dropped}`);
  facts.push(`attempts ${v.attempts}`);
  $('facts').textContent = facts.join(' · ');
  showFrame(0);
}
async function showFrame(i) {
  const v = S.job;
  if (!v || !v.frames.length) return;
  S.frameIdx = i;
  const f = v.frames[i];
  $('readout').textContent = 'Move the mouse over the map.';
  delete $('readout').dataset.value;
  $('cursor').setAttribute('width', 0);
  $('time-label').textContent = f.pubtime + `  (${i + 1}/${v.frames.length})`;
  const img = $('heat');
  if (f.image && v.bbox) {
    await new Promise((resolve) => {
      img.onload = img.onerror = resolve;
      img.src = f.image;
    });
    if (i !== S.frameIdx) return;
    if (img.naturalWidth > 0) {
      img.hidden = false;
      $('map').classList.remove('empty');
      setFrame(frameFromBbox(v.bbox, img.naturalWidth, img.naturalHeight));
    }
  } else {
    img.hidden = true;
    img.removeAttribute('src');
    $('map').classList.add('empty');
    setFrame(defaultFrame(S.boundary));
  }
  drawStations(f.points);
  drawBands(f.isobands).catch(() => {});
  S.grid = null;
  delete $('map').dataset.grid;
  if (f.grid) {
    S.gridUrl = f.grid;
    const g = await getJSON(f.grid);
    if (S.gridUrl === f.grid) { S.grid = g; $('map').dataset.grid = 'loaded'; }
  }
  await showLegend(v.index);
}

// ---- hover read-out -------------------------------------------------------
function onHover(e) {
  const f = S.frame, out = $('readout');
  if (!f) return;
  const r = $('map').getBoundingClientRect();
  const px = (e.clientX - r.left) / r.width * f.cols, py = (e.clientY - r.top) / r.height * f.rows;
  const lon = f.west + px * f.dx, lat = f.north - py * f.dy;
  out.dataset.lon = lon; out.dataset.lat = lat;
  delete out.dataset.value;
  let text = `${lon.toFixed(4)}°E ${lat.toFixed(4)}°N  `;
  const g = S.grid;
  if (!g) { out.textContent = text + (S.job ? '(no grid)' : ''); return; }
  const col = Math.floor((lon - g.xll) / g.dx), row = Math.floor((g.yll + g.nrows * g.dy - lat) / g.dy);
  const v = col >= 0 && col < g.ncols && row >= 0 && row < g.nrows ? g.values[row * g.ncols + col] : null;
  const c = $('cursor');
  if (v == null) {
    out.textContent = text + 'outside the district';
    c.setAttribute('width', 0);
    return;
  }
  out.dataset.value = v;
  const l = levelOf(v);
  out.textContent = text + `${S.job.index} ${v.toFixed(1)}${S.palette && S.palette.unit ? ' ' + S.palette.unit : ''}` + (l ? `  level ${l.level}, ${l.name}` : '');
  const s = f.cols / 120;
  c.setAttribute('x', px - s / 2); c.setAttribute('y', py - s / 2);
  c.setAttribute('width', s); c.setAttribute('height', s);
}

// ---- lists ----------------------------------------------------------------
function fillIndexes() {
  const sel = $('index');
  const idx = [...new Set(S.sources.map((r) => r.index))];
  sel.replaceChildren(...idx.map((i) => new Option(i, i)));
  fillTimes();
}
function fillTimes() {
  const sel = $('time'), index = $('index').value;
  sel.replaceChildren();
  for (const r of S.sources.filter((x) => x.index === index)) {
    const g = document.createElement('optgroup');
    g.label = `source row ${r.id}`;
    g.appendChild(new Option(`all ${r.frames.length} times of row ${r.id}`, JSON.stringify({ row: r.id, pubtime: '' })));
    for (const f of r.frames) g.appendChild(new Option(`${f.pubtime.slice(0, 16)} (${f.stations} stations)`, JSON.stringify({ row: r.id, pubtime: f.pubtime })));
    sel.appendChild(g);
  }
}
function fillSources() {
  const tb = $('sources').tBodies[0];
  tb.replaceChildren(...S.sources.map((r) => {
    const tr = document.createElement('tr');
    const cells = [r.id, r.index, r.frames.map((f) => f.pubtime.slice(11, 16)).join(' '),
      r.frames.map((f) => f.stations).join(' '), r.rendered ? 'written' : 'NULL'];
    cells.forEach((c) => { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); });
    tr.onclick = () => {
      $('index').value = r.index; fillTimes();
      $('time').value = JSON.stringify({ row: r.id, pubtime: '' });
    };
    return tr;
  }));
}
let jobsTimer = null;
function refreshJobs() {
  clearTimeout(jobsTimer);
  jobsTimer = setTimeout(async () => {
    let jobs;
    try { jobs = await getJSON('/api/jobs'); } catch (e) { return; }
    const tb = $('jobs').tBodies[0];
    tb.replaceChildren(...jobs.map((j) => {
      const tr = document.createElement('tr');
      tr.dataset.job = j.id;
      const what = j.kind === 'scan' ? 'scan (ping)' : (j.index || (j.source_id != null ? 'row ' + j.source_id : ''));
      const frames = j.times && j.times.length ? j.times.length : (j.source_id != null ? 'row ' + j.source_id : '');
      [j.id, j.state, what, frames, `${j.attempts}/${j.max_attempts}`].forEach((c) => {
        const td = document.createElement('td'); td.textContent = c; tr.appendChild(td);
      });
      if (j.kind !== 'scan') tr.onclick = () => startJob(j.id);
      return tr;
    }));
  }, 150);
}

// ---- events ---------------------------------------------------------------
function listen() {
  const es = new EventSource('/events');
  es.addEventListener('job', (e) => {
    const ev = JSON.parse(e.data);
    refreshJobs();
    if (ev.job !== S.jobId) return;
    if (ev.via === 'callback') {
      progress(`${ev.state}: signed callback received, signature verified`);
      $('callback').textContent = '✔ callback signature verified';
    } else {
      progress(`${ev.state} (krigd show)` + (ev.error && !FINISHED.includes(ev.state) ? ': ' + ev.error : ''));
    }
    advanceStatus(ev.state);
    if (FINISHED.includes(ev.state) && !(S.job && S.job.job === ev.job && S.job.state === ev.state)) refreshJob(ev.job);
  });
  es.onopen = () => { $('draw').disabled = false; };
}

async function draw(e) {
  e.preventDefault();
  const t = JSON.parse($('time').value);
  const req = { source_id: t.row, pubtime: t.pubtime, stations: $('stations').value, mode: $('mode').value, colors: $('colors').value };
  $('draw').disabled = true;
  try {
    const r = await getJSON('/api/draw', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
    startJob(r.jobs[0]);
    refreshJobs();
  } catch (err) {
    $('job-box').hidden = false;
    setStatus('refused');
    $('error').hidden = false;
    $('error').textContent = err.message;
  } finally {
    $('draw').disabled = false;
  }
}

async function init() {
  $('draw').disabled = true;
  [S.boundary, S.sources] = await Promise.all([getJSON('/api/boundary'), getJSON('/api/sources')]);
  $('map').classList.add('empty');
  setFrame(defaultFrame(S.boundary));
  fillIndexes(); fillSources(); refreshJobs();
  $('index').onchange = fillTimes;
  $('draw-form').onsubmit = draw;
  $('slider').oninput = () => showFrame(+$('slider').value);
  $('map').onmousemove = onHover;
  $('refresh-jobs').onclick = refreshJobs;
  listen();
}
$('bands').addEventListener('change', () => {
  const f = S.job && S.job.frames[S.frameIdx];
  drawBands(f ? f.isobands : null).catch(() => {});
});
init();
