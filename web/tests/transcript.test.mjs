// Unit tests of the viewer's pure logic (no browser): `node --test tests/` in web/.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRINGS, pickLanguage, t } from '../src/i18n.js';
import { CaptionStore, fromCaptionMessage, fromStream, toText, toWebVTT, vttTime } from '../src/transcript.js';

test('interim then final share a segment; a late interim never downgrades the final', () => {
  const store = new CaptionStore();
  assert.equal(store.upsert({ id: 's1', identity: 'alice', text: 'hello', final: false }).created, true);
  const done = store.upsert({ id: 's1', identity: 'alice', text: 'hello there', final: true });
  assert.equal(done.becameFinal, true);
  store.upsert({ id: 's1', identity: 'alice', text: 'hello th', final: false });
  assert.equal(store.segments.get('s1').text, 'hello there');
  assert.equal(store.segments.get('s1').final, true);
  assert.deepEqual(store.finals().map((s) => s.id), ['s1']);
});

test('JSON captions and history items add names and times to the same segment', () => {
  const store = new CaptionStore();
  store.upsert({ id: 'a', identity: 'alice', text: 'one', final: true, receivedAt: 110 });
  const message = {
    type: 'caption', v: 1, speaker: { identity: 'alice', name: 'Alice' }, segment_id: 'a',
    text: 'one', final: true, language: 'en', start: 100.0, end: 101.5,
  };
  store.upsert(fromCaptionMessage(message));
  store.upsert(fromCaptionMessage({ ...message, segment_id: 'b', text: 'two <b>', start: 102, end: 103.25 }));
  assert.equal(fromCaptionMessage({ type: 'status' }), null);
  const vtt = toWebVTT(store.finals());
  assert.match(vtt, /^WEBVTT\n\n1\n00:00:00\.000 --> 00:00:01\.500\n<v Alice>one\n/);
  assert.match(vtt, /00:00:02\.000 --> 00:00:03\.250\n<v Alice>two &lt;b&gt;/);
  assert.match(toText(store.finals()), /^\[\d\d:\d\d:\d\d\] Alice: one\n\[\d\d:\d\d:\d\d\] Alice: two <b>\n$/);
});

test('WebVTT timestamps', () => {
  assert.equal(vttTime(0), '00:00:00.000');
  assert.equal(vttTime(3723.4567), '01:02:03.457');
  assert.equal(vttTime(59.9996), '00:01:00.000');
});

test('interface languages: same keys, parameter first, then the browser, then English', () => {
  assert.deepEqual(Object.keys(STRINGS.fr).sort(), Object.keys(STRINGS.en).sort());
  assert.equal(pickLanguage('fr', 'en-US'), 'fr');
  assert.equal(pickLanguage(null, 'fr-CA'), 'fr');
  assert.equal(pickLanguage('de', 'es'), 'en');
  assert.equal(t('fr', 'connected', { room: 'r1' }), 'Connecté à la salle r1');
});

test('translations sit beside their original: never a caption of their own', () => {
  const store = new CaptionStore();
  store.upsert({ id: 'TR_1-0', identity: 'john', text: 'Good morning.', final: true, language: 'en' });
  const attrs = { 'lk.transcription_final': 'true', 'greffier.language': 'fr', 'greffier.translated_from': 'en' };
  const viaStream = store.upsert(fromStream('TR_1-0.fr', 'john', 'Bonjour.', attrs));
  assert.equal(viaStream.translation, 'fr');
  assert.equal(viaStream.segment.id, 'TR_1-0');
  assert.equal(store.translation('TR_1-0', 'fr'), 'Bonjour.');
  const viaJson = fromCaptionMessage({
    type: 'caption', segment_id: 'TR_1-0.de', text: 'Guten Morgen.', final: true, language: 'de',
    translated_from: 'en', original_segment_id: 'TR_1-0', speaker: { identity: 'john', name: 'John' },
  });
  store.upsert(viaJson);
  assert.equal(store.translation('TR_1-0', 'de'), 'Guten Morgen.');
  assert.deepEqual(store.finals().map((s) => s.id), ['TR_1-0']);
  assert.equal(store.translation('TR_1-0', 'es'), '');
  // A translation that caught up on two finals sits on the first and covers the second.
  store.upsert({ id: 'TR_1-1', identity: 'john', text: 'Shall we start?', final: true, language: 'en' });
  store.upsert({ id: 'TR_1-2', identity: 'john', text: 'Yes.', final: true, language: 'en' });
  const both = { ...attrs, 'greffier.translated_segments': 'TR_1-1,TR_1-2' };
  const caught = store.upsert(fromStream('TR_1-1.fr', 'john', 'On commence ? Oui.', both));
  assert.equal(caught.segment.id, 'TR_1-1');
  assert.deepEqual(caught.also.map((s) => s.id), ['TR_1-2']);
  assert.deepEqual(store.covered('TR_1-1', 'fr'), ['TR_1-1', 'TR_1-2']);
  assert.equal(store.coveredBy('TR_1-2', 'fr'), 'TR_1-1');
  assert.equal(store.coveredBy('TR_1-2', 'de'), '');
  assert.equal(store.coveredBy('TR_1-1', 'fr'), '');
  const json = fromCaptionMessage({
    type: 'caption', segment_id: 'TR_1-1.de', text: 'Fangen wir an? Ja.', final: true, language: 'de',
    translated_from: 'en', original_segment_id: 'TR_1-1', original_segment_ids: ['TR_1-1', 'TR_1-2'],
    speaker: { identity: 'john', name: 'John' },
  });
  assert.deepEqual(json.covers, ['TR_1-1', 'TR_1-2']);
  // An original's plain stream is not mistaken for a translation.
  assert.equal(fromStream('TR_1-1', 'john', 'Hi.', { 'lk.transcription_final': 'true' }).originalId, undefined);
});
