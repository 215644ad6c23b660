// Opens dist/react.html (LiveKit's own React components, useTranscriptions) in Debian's Chromium
// and reports what it shows. Launched by tests/browser/test_react_hooks.py, which owns the
// server, the worker and the speaking participant.
// Protocol: one JSON line {"event":"joined"} once the page is connected; then, when stdin gets a
// line, {"event":"result","captions":[...]} with the page's rows, and exit.
// Environment: PAGE_URL, CHROMIUM (default /usr/bin/chromium).
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const env = process.env;
const emit = (event, data = {}) => process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
    '--disable-background-networking', '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns'],
  timeout: 60_000,
});
const errors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(env.PAGE_URL);
  await page.waitForSelector('body[data-connected="true"]', { state: 'attached', timeout: 30_000 });
  emit('joined');
  const lines = createInterface({ input: process.stdin });
  for await (const _ of lines) break;
  const captions = await page.$$eval('#captions li', (items) =>
    items.map((li) => ({
      identity: li.dataset.identity,
      segmentId: li.dataset.segmentId,
      final: li.dataset.final === 'true',
      text: li.textContent,
    })),
  );
  emit('result', { captions, errors });
} finally {
  await browser.close();
}
