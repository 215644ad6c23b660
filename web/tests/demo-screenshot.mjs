// Screenshot of the viewer during `python -m agent demo` (for the README):
//   node web/tests/demo-screenshot.mjs '<viewer URL printed by the demo>' [out.png]
// Start the demo with `--web-wait 60`, then run this: it joins, waits for six final captions and
// (briefly) for an interim line, and saves the picture (default web/screenshot-demo.png).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const [url, out = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshot-demo.png')] = process.argv.slice(2);
if (!url) {
  console.error('usage: node web/tests/demo-screenshot.mjs VIEWER_URL [OUT.png]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 620 } })).newPage();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#captions li.final').length >= 6, null, { timeout: 120_000 });
  await page.waitForSelector('#captions li.interim', { timeout: 8000 }).catch(() => {});
  await page.screenshot({ path: out });
  console.log(`saved ${out}`);
} finally {
  await browser.close();
}
