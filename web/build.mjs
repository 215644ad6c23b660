// Builds the static viewer into web/dist: dist/index.html, dist/style.css, dist/viewer.js, and
// dist/react.html + dist/react.js (a page of LiveKit's React components, for the tests).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist');
await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  format: 'iife',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  sourcemap: true,
  outfile: join(out, 'viewer.js'),
  logLevel: 'warning',
});
// The React page: LiveKit's own hooks only (useTranscriptions), to check greffier against them.
await build({
  entryPoints: [join(here, 'react', 'main.jsx')],
  bundle: true,
  format: 'iife',
  jsx: 'automatic',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: join(out, 'react.js'),
  logLevel: 'warning',
});
await copyFile(join(here, 'react', 'react.html'), join(out, 'react.html'));
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
await copyFile(join(here, 'src', 'style.css'), join(out, 'style.css'));
console.log(`viewer built into ${out}`);
