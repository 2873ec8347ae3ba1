// tests/web/web-browser.js - drives contrib/web in headless chromium through
// playwright-core; run by tests/web/web.test, which turns the lines it prints
// ("PASS what" / "FAIL what" / "# note") into TAP.
//
//   node web-browser.js PLAYWRIGHT_DIR URL IMAGES_DIR ROW_RET_DATA.json SHOT.png SHOT_DEAD.png PROFILE_DIR
//
// Expected values come from outside the app: the frames of source row 4 (o3,
// whose readings span three HJ 633 levels) as
// the test read them from the source database with sqlite3, the kriged
// values from the .asc files krigd wrote, and the HJ 633-2012 colours from
// the standard itself.
'use strict';
const fs = require('fs');
const path = require('path');
const [pwDir, url, imagesDir, retFile, shot, shotDead, profile] = process.argv.slice(2);
const { chromium } = require(path.join(pwDir, 'node_modules', 'playwright-core'));

const HJ633 = ['rgb(0, 228, 0)', 'rgb(255, 255, 0)', 'rgb(255, 126, 0)', 'rgb(255, 0, 0)', 'rgb(153, 0, 76)', 'rgb(126, 0, 35)'];
let failed = 0;
function check(cond, what, detail) {
  console.log((cond ? 'PASS ' : 'FAIL ') + what);
  if (!cond) { failed++; if (detail !== undefined) console.log('# ' + JSON.stringify(detail)); }
}

function readAsc(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const h = {};
  for (let i = 0; i < 7; i++) { const [k, v] = lines[i].trim().split(/\s+/); h[k.toLowerCase()] = +v; }
  const values = lines.slice(7).join(' ').trim().split(/\s+/).map(Number);
  return { ncols: h.ncols, nrows: h.nrows, xll: h.xllcorner, yll: h.yllcorner, dx: h.dx, dy: h.dy, nodata: h.nodata_value, values };
}
function ascAt(g, lon, lat) {
  const col = Math.floor((lon - g.xll) / g.dx), row = Math.floor((g.yll + g.nrows * g.dy - lat) / g.dy);
  if (col < 0 || col >= g.ncols || row < 0 || row >= g.nrows) return null;
  const v = g.values[row * g.ncols + col];
  return v === g.nodata ? null : v;
}

(async () => {
  const frames = JSON.parse(fs.readFileSync(retFile, 'utf8'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(url.replace(/\/$/, ''))) outside.push(r.url()); });
  page.on('pageerror', (e) => console.log('# page error: ' + e.message));
  page.setDefaultTimeout(60000);
  try {
    await page.goto(url);
    // The form is enabled once the event stream is open.
    await page.waitForSelector('#draw:not([disabled])');
    await page.waitForFunction(() => document.querySelectorAll('#sources tbody tr').length > 0);

    // Case 1: every time of source row 4 (o3), all stations.
    await page.selectOption('#index', 'o3');
    await page.selectOption('#time', JSON.stringify({ row: 4, pubtime: '' }));
    // Every status the page shows, in order, from the click on.
    await page.evaluate(() => {
      window.__states = [];
      new MutationObserver(() => {
        const t = document.getElementById('status').textContent;
        if (window.__states[window.__states.length - 1] !== t) window.__states.push(t);
      }).observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true });
    });
    await page.click('#draw');
    await page.waitForFunction(() => ['done', 'dead', 'cancelled'].includes(document.getElementById('status').textContent));
    const status = await page.textContent('#status');
    check(status === 'done', 'the job reaches status done', status);
    const states = await page.evaluate(() => window.__states);
    const rank = { submitted: 0, pending: 1, running: 2, done: 3 };
    check(states[0] === 'submitted' && states[states.length - 1] === 'done' &&
          states.every((s, i) => s in rank && (i === 0 || rank[s] > rank[states[i - 1]])),
          'the page shows the progress in order, submitted -> (pending -> running ->) done, never backwards', states);
    const steps = await page.$$eval('#progress li', (l) => l.map((e) => e.textContent));
    check(steps.length >= 2 && /queued/.test(steps[0]), 'the progress list starts with the queued step and goes on', steps);
    await page.waitForFunction(() => /verified/.test(document.getElementById('callback').textContent), null, { timeout: 20000 })
      .catch(() => {});
    check(/signature verified/.test(await page.textContent('#callback')), "krigd's signed callback arrived and verified");
    await page.waitForFunction(() => { const i = document.getElementById('heat'); return !i.hidden && i.complete && i.naturalWidth > 0; });
    const img = await page.evaluate(() => { const i = document.getElementById('heat'); return { w: i.naturalWidth, h: i.naturalHeight, src: i.getAttribute('src'), shown: i.getBoundingClientRect().width }; });
    check(img.w > 0 && img.h > 0 && img.shown > 0, 'the PNG is loaded and shown (naturalWidth > 0)', img);
    await page.waitForSelector('#legend .title', { timeout: 20000 }).catch(() => {});
    const colours = await page.$$eval('#legend .item .swatch', (s) => s.map((e) => getComputedStyle(e).backgroundColor));
    check(JSON.stringify(colours) === JSON.stringify(HJ633), 'the legend shows the six HJ 633-2012 colours in order', colours);
    const legendText = await page.textContent('#legend');
    check([160, 200, 300, 400, 800].every((b) => legendText.includes(String(b))),
      'the legend names the 1-h O3 breakpoints 160, 200, 300, 400, 800', legendText);
    const outlinePath = await page.getAttribute('#outline', 'd');
    check(outlinePath && (outlinePath.match(/M/g) || []).length > 1, 'the district outline is drawn (several rings: islands)');

    // The slider runs over the job's frames, which are the frames of row 4.
    const sliderMax = +(await page.getAttribute('#slider', 'max'));
    check(sliderMax === frames.length - 1, `the time slider spans the ${frames.length} frames of the row`, sliderMax);
    const nStations = await page.$$eval('#stations-layer circle', (c) => c.length);
    check(nStations === frames[0].time_data.length, 'every station of the first frame is drawn', [nStations, frames[0].time_data.length]);

    // Hover over stations: the read-out's lon/lat is where the station is
    // (the overlay and the image share one frame) and its value is the .asc's.
    const asc = readAsc(path.join(imagesDir, decodeURIComponent(img.src.replace(/^\/images\//, '')).replace(/\.png$/, '.asc')));
    await page.waitForSelector('#map[data-grid="loaded"]');
    const circles = await page.$$('#stations-layer circle');
    let hovered = 0, aligned = 0, matched = 0;
    const bad = [];
    for (const c of circles) {
      const d = await c.evaluate((e) => ({ lon: +e.dataset.lon, lat: +e.dataset.lat }));
      if (ascAt(asc, d.lon, d.lat) === null) continue; // a station on the edge of the outline
      const b = await c.boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      const r = await page.evaluate(() => { const o = document.getElementById('readout'); return { lon: +o.dataset.lon, lat: +o.dataset.lat, value: o.dataset.value, text: o.textContent }; });
      hovered++;
      // One screen pixel is about 1.1 image pixel here; allow two cells.
      if (Math.abs(r.lon - d.lon) <= 2 * asc.dx && Math.abs(r.lat - d.lat) <= 2 * asc.dy) aligned++; else bad.push(['align', d, r]);
      const want = ascAt(asc, r.lon, r.lat);
      if (want !== null && r.value !== undefined && Math.abs(+r.value - want) <= 1e-3 + 1e-6 * Math.abs(want) &&
          r.text.includes(want.toFixed(1))) matched++; else bad.push(['value', want, r]);
      if (hovered >= 5) break;
    }
    check(hovered >= 3 && aligned === hovered, 'hovering a station reads out its own lon/lat (overlay and image aligned)', bad.slice(0, 3));
    check(hovered >= 3 && matched === hovered, "the hover read-out shows the .asc grid's value under the cursor", bad.slice(0, 3));
    await page.mouse.move(5, 5);
    const last = frames.length - 1;
    await page.$eval('#slider', (s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }, last);
    await page.waitForFunction((t) => document.getElementById('time-label').textContent.includes(t), frames[last].pubtime);
    await page.waitForFunction((src) => { const i = document.getElementById('heat'); return i.getAttribute('src') !== src && i.complete && i.naturalWidth > 0; }, img.src);
    const n2 = await page.$$eval('#stations-layer circle', (c) => c.length);
    check(n2 === frames[last].time_data.length, 'moving the slider to the last frame shows its image and its stations', [n2, frames[last].time_data.length]);
    // Leave a read-out in the picture: hover near a station of this frame.
    await page.waitForSelector('#map[data-grid="loaded"]');
    const c0 = (await page.$$('#stations-layer circle'))[3];
    const b0 = await c0.boundingBox();
    await page.mouse.move(b0.x + b0.width / 2 + 12, b0.y + b0.height / 2 + 8);
    await page.screenshot({ path: shot, fullPage: true });
    console.log('# screenshot: ' + shot);

    // The isobands as vectors: one filled path per colour band of the frame.
    await page.check('#bands');
    await page.waitForSelector('#map[data-bands="drawn"]');
    const bands = await page.$$eval('#bands-layer path', (ps) => ps.map((p) => ({ fill: p.getAttribute('fill'), d: p.getAttribute('d').length })));
    check(bands.length >= 1 && bands.every((b) => /^#[0-9a-f]{6}$/.test(b.fill) && b.d > 10),
      "'colour bands as vectors' draws the frame's isobands, each filled with its band's colour", bands.slice(0, 6));
    await page.uncheck('#bands');

    // Case 2: one time with only 2 stations cannot be kriged: dead, last_error shown.
    await page.selectOption('#time', JSON.stringify({ row: 4, pubtime: frames[0].pubtime }));
    await page.fill('#stations', '2');
    const before = await page.textContent('#job-id');
    await page.click('#draw');
    await page.waitForFunction((b) => document.getElementById('job-id').textContent !== b, before);
    await page.waitForFunction(() => ['done', 'dead', 'cancelled'].includes(document.getElementById('status').textContent));
    check((await page.textContent('#status')) === 'dead', 'a frame with 2 stations ends dead');
    await page.waitForSelector('#error:not([hidden])');
    const err = await page.textContent('#error');
    check(/2 usable stations/.test(err) && /at least 3/.test(err), "the page shows the dead job's last_error", err);
    const deadId = (await page.textContent('#job-id')).replace('#', '');
    await page.waitForFunction((id) => [...document.querySelectorAll('#jobs tbody tr')].some((r) => r.dataset.job === id &&
      r.cells[1].textContent === 'dead'), deadId, { timeout: 10000 }).catch(() => {});
    check(await page.evaluate((id) => [...document.querySelectorAll('#jobs tbody tr')].some((r) => r.dataset.job === id &&
      r.cells[1].textContent === 'dead'), deadId), 'the recent jobs list shows the dead job');
    await page.screenshot({ path: shotDead, fullPage: true });
    check(outside.length === 0, 'the page asked nothing of any host but the app', outside.slice(0, 5));
  } catch (e) {
    check(false, 'the browser session ran to the end', String(e && e.stack || e));
  } finally {
    await ctx.close();
  }
  process.exit(failed ? 1 : 0);
})();
