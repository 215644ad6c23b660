// The caption store: segments keyed by segment id, merged from the three sources greffier uses
// (lk.transcription text streams, greffier.captions JSON, the history RPC), and transcript export.
// Pure logic with no DOM, so that it can be tested with `node --test`.

export class CaptionStore {
  constructor() {
    this.segments = new Map(); // segment id -> segment
    this.order = []; // segment ids in order of first appearance
    this.translations = new Map(); // original segment id -> Map(language -> text)
    // A translation that caught up on several finals sits on the first: id -> Map(language -> ids).
    this.covers = new Map();
    this.coveredByFirst = new Map(); // each later id of such a translation -> Map(language -> first id)
  }

  /** The translation of segment ``id`` into ``language`` received so far, or ''. */
  translation(id, language) {
    return this.translations.get(id)?.get(language) || '';
  }

  /** The segment ids the translation of ``id`` into ``language`` covers ([id] when only itself). */
  covered(id, language) {
    return this.covers.get(id)?.get(language) || [id];
  }

  /** The first segment whose translation into ``language`` also covers ``id``, or ''. */
  coveredBy(id, language) {
    return this.coveredByFirst.get(id)?.get(language) || '';
  }

  /**
   * Merge an update. Fields: id, identity, name, text, final, start, end (epoch seconds), language.
   * A final is never downgraded back to interim by a late interim. Returns {segment, created,
   * becameFinal}.
   */
  upsert(update) {
    if (!update || !update.id) return null;
    if (update.originalId) {
      // A translation of a final (sent only to listeners who asked for its language): kept
      // beside its original, never a caption of its own (not in finals(), not in downloads).
      if (!this.translations.has(update.originalId)) this.translations.set(update.originalId, new Map());
      this.translations.get(update.originalId).set(update.language, update.text || '');
      const ids = Array.isArray(update.covers) ? update.covers.filter((i) => typeof i === 'string') : [];
      if (ids.length > 1) {
        if (!this.covers.has(update.originalId)) this.covers.set(update.originalId, new Map());
        this.covers.get(update.originalId).set(update.language, ids);
        for (const later of ids) {
          if (later === update.originalId) continue;
          if (!this.coveredByFirst.has(later)) this.coveredByFirst.set(later, new Map());
          this.coveredByFirst.get(later).set(update.language, update.originalId);
        }
      }
      const original = this.segments.get(update.originalId) || null;
      const also = ids.slice(1).map((i) => this.segments.get(i)).filter(Boolean);
      return { segment: original, created: false, becameFinal: false, translation: update.language, also };
    }
    let segment = this.segments.get(update.id);
    const created = !segment;
    if (created) {
      segment = {
        id: update.id,
        identity: update.identity || '',
        name: '',
        text: '',
        final: false,
        start: null,
        end: null,
        language: '',
        receivedAt: update.receivedAt ?? Date.now() / 1000,
      };
      this.segments.set(update.id, segment);
      this.order.push(update.id);
    }
    const wasFinal = segment.final;
    if (update.identity) segment.identity = update.identity;
    if (update.name) segment.name = update.name;
    if (update.language) segment.language = update.language;
    if (typeof update.start === 'number') segment.start = update.start;
    if (typeof update.end === 'number') segment.end = update.end;
    if (typeof update.text === 'string' && (!wasFinal || update.final)) segment.text = update.text;
    if (update.final) segment.final = true;
    return { segment, created, becameFinal: segment.final && !wasFinal };
  }

  finals() {
    const list = this.order.map((id) => this.segments.get(id)).filter((s) => s.final && s.text.trim());
    return list.sort((a, b) => timeOf(a) - timeOf(b));
  }
}

function timeOf(segment) {
  return segment.start ?? segment.receivedAt;
}

export function pad(n, width = 2) {
  return String(Math.floor(n)).padStart(width, '0');
}

/** seconds -> "HH:MM:SS.mmm" (WebVTT timestamp). */
export function vttTime(seconds) {
  const s = Math.max(0, seconds);
  const ms = Math.round((s - Math.floor(s)) * 1000);
  const whole = Math.floor(s) + (ms === 1000 ? 1 : 0);
  return `${pad(whole / 3600)}:${pad((whole % 3600) / 60)}:${pad(whole % 60)}.${pad(ms % 1000, 3)}`;
}

function escapeVtt(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/-->/g, '→');
}

function speakerOf(segment) {
  return segment.name || segment.identity || '?';
}

/** WebVTT of the final captions, times relative to the first one, with <v Speaker> voice tags. */
export function toWebVTT(finals) {
  const lines = ['WEBVTT', ''];
  if (!finals.length) return lines.join('\n');
  const origin = timeOf(finals[0]);
  finals.forEach((segment, index) => {
    const start = timeOf(segment) - origin;
    let end = (segment.end ?? timeOf(segment) + 2) - origin;
    if (!(end > start)) end = start + 1;
    lines.push(String(index + 1));
    lines.push(`${vttTime(start)} --> ${vttTime(end)}`);
    lines.push(`<v ${escapeVtt(speakerOf(segment))}>${escapeVtt(segment.text.trim())}`);
    lines.push('');
  });
  return lines.join('\n');
}

/** Plain text: one line per caption, "[HH:MM:SS] Speaker: text" in local wall-clock time. */
export function toText(finals) {
  return finals
    .map((segment) => {
      const d = new Date(timeOf(segment) * 1000);
      const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
      return `[${clock}] ${speakerOf(segment)}: ${segment.text.trim()}`;
    })
    .join('\n') + (finals.length ? '\n' : '');
}

/** Normalise a greffier.captions JSON message (or a history item) into a store update. */
export function fromCaptionMessage(message, receivedAt = Date.now() / 1000) {
  if (!message || message.type !== 'caption' || typeof message.segment_id !== 'string') return null;
  const speaker = message.speaker && typeof message.speaker === 'object' ? message.speaker : {};
  return {
    id: message.segment_id,
    identity: typeof speaker.identity === 'string' ? speaker.identity : '',
    name: typeof speaker.name === 'string' ? speaker.name : '',
    text: typeof message.text === 'string' ? message.text : '',
    final: message.final === true,
    start: typeof message.start === 'number' ? message.start : undefined,
    end: typeof message.end === 'number' ? message.end : undefined,
    language: typeof message.language === 'string' ? message.language : '',
    ...(typeof message.translated_from === 'string' && typeof message.original_segment_id === 'string'
      ? {
          originalId: message.original_segment_id,
          translatedFrom: message.translated_from,
          ...(Array.isArray(message.original_segment_ids) ? { covers: message.original_segment_ids } : {}),
        }
      : {}),
    receivedAt,
  };
}

/** A text stream's attributes as a store update (translations carry greffier.translated_from). */
export function fromStream(id, identity, text, attributes) {
  const update = { id, identity, text, final: attributes['lk.transcription_final'] === 'true' };
  const language = attributes['greffier.language'];
  if (attributes['greffier.translated_from'] && language && id.endsWith(`.${language}`)) {
    update.originalId = id.slice(0, -language.length - 1);
    update.language = language;
    update.translatedFrom = attributes['greffier.translated_from'];
    const covers = attributes['greffier.translated_segments'];
    if (covers) update.covers = covers.split(',');
  }
  return update;
}
