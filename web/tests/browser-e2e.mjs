// Real-browser end-to-end check of the caption viewer, driven by playwright-core in Debian's
// Chromium. Launched by tests/browser/test_viewer_browser.py, which owns livekit-server and the
// greffier worker; this script owns the browser.
//
// Page 1 ("speaker") opens the viewer with mic=1: Chromium's fake capture device plays FAKE_AUDIO
// (a WAV file, looped) into its microphone track. Page 2 ("viewer") only watches.
// Protocol: one JSON object per stdout line: {"event":"joined"} once both pages are connected
// (the test then dispatches the agent), and {"event":"result", ...} at the end. Errors: exit 1.
//
// Environment: SPEAKER_URL, VIEWER_URL (full page URLs with tokens), FAKE_AUDIO (WAV path),
// LATE_URL (optional: a third page that joins after the first captions), SPEAKER_IDENTITY, EXPECT_WORDS (comma separated, all must appear in page 2 under that speaker),
// ARTIFACTS (folder for screenshots and console logs), CHROMIUM (default /usr/bin/chromium),
// TIMEOUT_MS (default 120000), TRANSLATE_LANG (optional: pick that caption language, then open
// "the meeting so far").
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const required = ['SPEAKER_URL', 'VIEWER_URL', 'FAKE_AUDIO', 'SPEAKER_IDENTITY', 'EXPECT_WORDS', 'ARTIFACTS'];
for (const name of required) {
  if (!env[name]) {
    console.error(`browser-e2e: ${name} is not set`);
    process.exit(2);
  }
}
const timeout = Number(env.TIMEOUT_MS || 120_000);
const artifacts = env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const expected = env.EXPECT_WORDS.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean);
const expectMin = Number(env.EXPECT_MIN || expected.length);
const emit = (event, data = {}) => process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
const logs = { speaker: [], viewer: [], late: [] };

// Flags: fake media capture from a file, plus what this closed network needs (no background
// requests to Google services, no QUIC), and loopback ICE candidates for a livekit-server on
// 127.0.0.1.
const args = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--metrics-recording-only',
  '--autoplay-policy=no-user-gesture-required',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${env.FAKE_AUDIO}`,
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args,
  ignoreDefaultArgs: ['--mute-audio'],
  timeout: 60_000,
});

async function openPage(name, url) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 560 }, acceptDownloads: true });
  await context.grantPermissions(['microphone']);
  const page = await context.newPage();
  page.on('console', (msg) => logs[name].push(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (error) => logs[name].push(`[pageerror] ${error.message}`));
  await page.goto(url);
  await page.waitForSelector('#connection[data-state="connected"]', { timeout: 30_000 });
  return page;
}

/** Page 2's captions as data: what a reader sees. */
const readCaptions = (page) =>
  page.$$eval('#captions li.caption', (items) =>
    items.map((li) => ({
      segmentId: li.dataset.segmentId,
      identity: li.dataset.speakerIdentity,
      speaker: li.querySelector('.speaker').textContent,
      text: li.querySelector('.text').textContent,
      final: li.classList.contains('final'),
      italic: getComputedStyle(li).fontStyle === 'italic',
    })),
  );

let speaker;
let viewer;
try {
  speaker = await openPage('speaker', env.SPEAKER_URL);
  await speaker.waitForSelector('#mic:not([hidden])', { timeout: 30_000 });
  viewer = await openPage('viewer', env.VIEWER_URL);
  emit('joined');

  // 1. The agent answers, and page 1's speech reaches page 2 as captions under page 1's name.
  await viewer.waitForSelector('#status[data-state="active"]', { timeout });
  let sawInterim = null;
  await viewer.waitForFunction(
    ({ identity, words, min }) => {
      const items = [...document.querySelectorAll('#captions li.caption')].filter(
        (li) => li.dataset.speakerIdentity === identity,
      );
      const finals = items.filter((li) => li.classList.contains('final'));
      const text = finals.map((li) => li.querySelector('.text').textContent.toLowerCase()).join(' ');
      return words.filter((w) => text.includes(w)).length >= min;
    },
    { identity: env.SPEAKER_IDENTITY, words: expected, min: expectMin },
    { timeout, polling: 200 },
  );
  const captions = await readCaptions(viewer);
  const announced = await viewer.$eval('#announcer', (el) => ({
    live: el.getAttribute('aria-live'),
    text: el.textContent,
  }));
  // The recording loops: wait (briefly, not required) for the next interim line, so that the
  // screenshot shows both kinds of text.
  await viewer
    .waitForFunction(() => document.querySelector('#captions li.interim .text')?.textContent.trim(), null, {
      timeout: 20_000,
      polling: 100,
    })
    .catch(() => {});
  await viewer.screenshot({ path: join(artifacts, 'viewer-captions.png'), fullPage: false });
  const onScreen = await readCaptions(viewer);
  sawInterim = onScreen.some((c) => !c.final) ? onScreen.filter((c) => !c.final).every((c) => c.italic) : null;
  const interimStyle = await viewer.evaluate(() => {
    const li = document.createElement('li');
    li.className = 'caption interim';
    document.body.appendChild(li);
    const style = getComputedStyle(li);
    const out = { fontStyle: style.fontStyle, color: style.color };
    li.remove();
    const final = document.querySelector('#captions li.final');
    out.finalColor = final ? getComputedStyle(final).color : null;
    return out;
  });
  await speaker.screenshot({ path: join(artifacts, 'speaker-page.png'), fullPage: false });

  // 2. Transcript downloads (WebVTT and text) carry the speaker's words.
  const downloads = {};
  for (const [id, kind] of [['#download-vtt', 'vtt'], ['#download-txt', 'txt']]) {
    const [download] = await Promise.all([viewer.waitForEvent('download'), viewer.click(id)]);
    const path = join(artifacts, `transcript.${kind}`);
    await download.saveAs(path);
    downloads[kind] = { path, name: download.suggestedFilename() };
  }

  // 2b. A late joiner (page 3) gets the earlier finals from the agent's history RPC.
  let late = null;
  if (env.LATE_URL) {
    const earlier = captions.filter((c) => c.final).map((c) => c.segmentId);
    const page = await openPage('late', env.LATE_URL);
    await page.waitForFunction(
      (ids) => ids.every((id) => document.querySelector(`#captions li.final[data-segment-id="${CSS.escape(id)}"]`)),
      earlier,
      { timeout: 30_000, polling: 200 },
    );
    const got = await readCaptions(page);
    late = {
      earlier,
      captions: got.filter((c) => earlier.includes(c.segmentId)),
      message: await page.$eval('#message', (el) => el.textContent),
    };
    await page.context().close();
  }

  // 3. Stop / Start through the agent's RPC, with the keyboard: the indicator follows.
  const states = [];
  await viewer.focus('#stop');
  await viewer.keyboard.press('Enter');
  await viewer.waitForSelector('#status[data-state="paused"]', { timeout: 30_000 });
  states.push(await viewer.$eval('#status', (el) => [el.dataset.state, el.textContent.trim()]));
  await speaker.waitForSelector('#status[data-state="paused"]', { timeout: 30_000 });
  states.push(await speaker.$eval('#status', (el) => [el.dataset.state, el.textContent.trim()]));
  await viewer.screenshot({ path: join(artifacts, 'viewer-paused.png') });
  await viewer.focus('#start');
  await viewer.keyboard.press('Space');
  await viewer.waitForSelector('#status[data-state="active"]', { timeout: 30_000 });
  states.push(await viewer.$eval('#status', (el) => [el.dataset.state, el.textContent.trim()]));

  // 3b. Captions in another language (TRANSLATE_LANG): the listener picks it, new finals come
  // translated with the original on demand; then the meeting so far.
  let translated = null;
  if (env.TRANSLATE_LANG) {
    await viewer.waitForSelector('#caption-language:not([disabled])', { timeout: 30_000 });
    await viewer.selectOption('#caption-language', env.TRANSLATE_LANG);
    await viewer.waitForSelector('#captions li.caption.translated', { timeout });
    translated = await viewer.$eval('#captions li.caption.translated', (li) => ({
      identity: li.dataset.speakerIdentity,
      text: li.querySelector('.text').textContent,
      lang: li.querySelector('.text').getAttribute('lang'),
      original: li.querySelector('.original-text').textContent,
      summary: li.querySelector('.original summary').textContent,
      originalShown: !li.querySelector('.original').hidden,
    }));
    await viewer.click('#so-far');
    await viewer.waitForSelector('#so-far-panel:not([hidden]) #so-far-points li', { timeout: 30_000 });
    // Captions said before the choice stay in the original, with no "Original" line under them.
    translated.untranslatedShowOriginal = await viewer.$$eval('#captions li.caption:not(.translated)', (items) =>
      items.some((li) => li.querySelector('.original').getBoundingClientRect().height > 0),
    );
    translated.soFar = await viewer.$$eval('#so-far-points li', (items) => items.map((li) => li.textContent));
    translated.soFarFocused = await viewer.evaluate(() => document.activeElement?.id);
    await viewer.screenshot({ path: join(artifacts, 'viewer-translated.png') });
  }

  // 4. Text size and the French interface.
  const sizeBefore = await viewer.$eval('#captions', (el) => parseFloat(getComputedStyle(el).fontSize));
  await viewer.click('#larger');
  await viewer.click('#larger');
  const sizeAfter = await viewer.$eval('#captions', (el) => parseFloat(getComputedStyle(el).fontSize));
  await viewer.click('#lang-toggle');
  const french = await viewer.evaluate(() => ({
    lang: document.documentElement.lang,
    start: document.getElementById('start').textContent,
    status: document.getElementById('status-text').textContent,
  }));
  await viewer.screenshot({ path: join(artifacts, 'viewer-fr.png') });

  emit('result', {
    captions,
    announced,
    sawInterim,
    interimStyle,
    downloads,
    late,
    states,
    translated,
    sizeBefore,
    sizeAfter,
    french,
    screenshot: join(artifacts, 'viewer-captions.png'),
  });
} catch (error) {
  try {
    if (viewer) await viewer.screenshot({ path: join(artifacts, 'viewer-failure.png') });
    if (viewer) emit('failure-captions', { captions: await readCaptions(viewer) });
  } catch {}
  console.error(`browser-e2e: ${error?.stack || error}`);
  process.exitCode = 1;
} finally {
  for (const [name, lines] of Object.entries(logs)) writeFileSync(join(artifacts, `console-${name}.log`), lines.join('\n'));
  await browser.close();
}
