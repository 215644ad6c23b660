// greffier caption viewer: joins a LiveKit room with a token from the URL and shows the captions
// that the (hidden) greffier agent publishes. See web/README.md for the URL parameters.
import { Room, RoomEvent, ConnectionState } from 'livekit-client';
import { pickLanguage, t } from './i18n.js';
import { CaptionStore, fromCaptionMessage, fromStream, toText, toWebVTT } from './transcript.js';

const TOPIC_TRANSCRIPTION = 'lk.transcription';
const TOPIC_CAPTIONS = 'greffier.captions';
const TOPIC_STATUS = 'greffier.status';
const ATTR_STATUS = 'greffier.captions';
const ATTR_OPT_OUT = 'greffier.opt_out';
const RPC = {
  start: 'greffier.captions.start',
  stop: 'greffier.captions.stop',
  status: 'greffier.status',
  history: 'greffier.captions.history',
  language: 'greffier.captions.language',
  soFar: 'greffier.meeting.so_far',
};

const params = new URLSearchParams(location.search);
const config = {
  url: params.get('url') || '',
  token: params.get('token') || '',
  agent: params.get('agent') || 'greffier-agent',
  mic: ['1', 'true', 'yes'].includes((params.get('mic') || '').toLowerCase()),
  captions: (params.get('captions') || '').toLowerCase(), // a caption language to ask for at once
};

const state = {
  lang: pickLanguage(params.get('lang'), navigator.language),
  agentActive: null, // from status messages and RPC replies
  myStatus: '', // the greffier.captions attribute the agent set on us
  synced: false,
  connection: 'connecting',
  connectionVars: {},
  scale: Number(localStorage.getItem('greffier.scale')) || 1,
  captionLang: '', // translated captions asked for ('' = the original)
};
const store = new CaptionStore();
const room = new Room({ adaptiveStream: false, dynacast: false });
const $ = (id) => document.getElementById(id);
const decoder = new TextDecoder();

// -- interface language ---------------------------------------------------------------------------
function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = `${t(state.lang, 'title')} · greffier`;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(state.lang, el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) {
    el.setAttribute('aria-label', t(state.lang, el.dataset.i18nLabel));
    el.title = t(state.lang, el.dataset.i18nLabel);
  }
  $('lang-toggle').setAttribute('lang', state.lang === 'fr' ? 'en' : 'fr');
  renderStatus();
  renderConnection();
  for (const li of document.querySelectorAll('#captions li.interim .interim-mark')) {
    li.textContent = t(state.lang, 'interim');
  }
}

function toggleLanguage() {
  state.lang = state.lang === 'fr' ? 'en' : 'fr';
  const next = new URL(location.href);
  next.searchParams.set('lang', state.lang);
  history.replaceState(null, '', next);
  applyLanguage();
}

// -- text size ------------------------------------------------------------------------------------
function setScale(scale) {
  state.scale = Math.min(3, Math.max(0.75, Math.round(scale * 8) / 8));
  document.documentElement.style.setProperty('--caption-scale', String(state.scale));
  localStorage.setItem('greffier.scale', String(state.scale));
  $('size-value').textContent = `${Math.round(state.scale * 100)} %`;
}

// -- connection and status ------------------------------------------------------------------------
function setConnection(key, vars = {}) {
  state.connection = key;
  state.connectionVars = vars;
  renderConnection();
}

function renderConnection() {
  const el = $('connection');
  el.textContent = t(state.lang, state.connection, state.connectionVars);
  el.dataset.state = state.connection;
}

function captionState() {
  if (state.myStatus === 'opted-out') return 'opted-out';
  if (state.agentActive !== null) return state.agentActive ? 'active' : 'paused';
  if (state.myStatus === 'active' || state.myStatus === 'paused') return state.myStatus;
  return 'unknown';
}

function renderStatus() {
  const value = captionState();
  const el = $('status');
  el.dataset.state = value;
  const key = { active: 'statusActive', paused: 'statusPaused', 'opted-out': 'statusOptedOut' }[value];
  $('status-text').textContent = t(state.lang, key || 'statusUnknown');
  $('start').disabled = state.connection !== 'connected';
  $('so-far').disabled = state.connection !== 'connected';
  $('stop').disabled = state.connection !== 'connected';
  $('start').setAttribute('aria-pressed', String(value === 'active'));
}

function applyStatus(message) {
  if (!message || message.type !== 'status') return;
  if (typeof message.active === 'boolean') state.agentActive = message.active;
  renderStatus();
}

function showMessage(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

// -- captions -------------------------------------------------------------------------------------
function displayName(segment) {
  if (segment.name) return segment.name;
  const participant =
    segment.identity === room.localParticipant?.identity
      ? room.localParticipant
      : room.remoteParticipants.get(segment.identity);
  return participant?.name || segment.identity || '?';
}

function render(result, { announce = true } = {}) {
  if (!result) return;
  if (result.translation) {
    // A translation of a final: shown in its original's place when it is the language asked for.
    if (result.segment) renderSegment(result.segment, announce && result.translation === state.captionLang);
    // Finals it caught up on: their words are in the first one's translation.
    for (const segment of result.also || []) renderSegment(segment, false);
    return;
  }
  renderSegment(result.segment, announce && result.becameFinal);
  updateDownloads();
}

function renderSegment(segment, announce) {
  const list = $('captions');
  let li = list.querySelector(`li[data-segment-id="${CSS.escape(segment.id)}"]`);
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (!li) {
    li = document.createElement('li');
    li.dataset.segmentId = segment.id;
    li.innerHTML =
      '<span class="speaker"></span><span class="text"></span><span class="interim-mark"></span>' +
      '<details class="original" hidden><summary></summary><span class="original-text"></span></details>';
    list.appendChild(li);
    $('empty').hidden = true;
  }
  const translated = state.captionLang ? store.translation(segment.id, state.captionLang) : '';
  // Translated together with an earlier final: that row shows both, this one steps aside.
  li.hidden = !translated && Boolean(state.captionLang && store.coveredBy(segment.id, state.captionLang));
  const originalText = translated
    ? store
        .covered(segment.id, state.captionLang)
        .map((id) => store.segments.get(id)?.text || '')
        .join(' ')
        .trim()
    : '';
  li.dataset.speakerIdentity = segment.identity;
  li.className = `caption ${segment.final ? 'final' : 'interim'}${translated ? ' translated' : ''}`;
  li.querySelector('.speaker').textContent = displayName(segment);
  const text = li.querySelector('.text');
  text.textContent = translated || segment.text;
  if (translated) text.setAttribute('lang', state.captionLang);
  else if (segment.language) text.setAttribute('lang', segment.language);
  const original = li.querySelector('.original');
  original.hidden = !translated;
  original.querySelector('summary').textContent = t(state.lang, 'original');
  original.querySelector('.original-text').textContent = originalText;
  if (segment.language) original.querySelector('.original-text').setAttribute('lang', segment.language);
  li.querySelector('.interim-mark').textContent = segment.final ? '' : t(state.lang, 'interim');
  if (stick) list.scrollTop = list.scrollHeight;
  const said = (translated || segment.text).trim();
  if (announce && said) {
    const live = $('announcer');
    const p = document.createElement('p');
    p.textContent = `${displayName(segment)}: ${said}`;
    live.appendChild(p);
    while (live.childElementCount > 5) live.firstElementChild.remove();
  }
}

// -- caption language and the meeting so far ------------------------------------------------------
function fillLanguages(translation) {
  const select = $('caption-language');
  const available = translation?.enabled && Array.isArray(translation.available) ? translation.available : [];
  select.disabled = !available.length;
  for (const option of [...select.options].slice(1)) option.remove();
  for (const code of available) {
    const option = document.createElement('option');
    option.value = code;
    option.textContent = code.toUpperCase();
    select.appendChild(option);
  }
  select.value = available.includes(state.captionLang) ? state.captionLang : '';
}

async function setCaptionLanguage(code) {
  try {
    const reply = await rpc(RPC.language, JSON.stringify({ language: code || 'original' }));
    state.captionLang = reply.language && reply.language !== 'original' ? reply.language : '';
    fillLanguages(reply);
    showMessage('');
  } catch (error) {
    showMessage(t(state.lang, 'rpcFailed', { error: error?.message || String(error) }));
    $('caption-language').value = state.captionLang;
  }
  for (const segment of store.segments.values()) renderSegment(segment, false);
}

async function showSoFar() {
  const button = $('so-far');
  button.setAttribute('aria-busy', 'true');
  try {
    const reply = await rpc(RPC.soFar, JSON.stringify({ language: state.captionLang || state.lang }));
    const points = Array.isArray(reply.points) ? reply.points : [];
    const list = $('so-far-points');
    list.replaceChildren();
    for (const point of points) {
      const li = document.createElement('li');
      const at = Math.max(0, Number(point.at) || 0);
      li.textContent = `[${Math.floor(at / 60)}:${String(Math.floor(at % 60)).padStart(2, '0')}] ${point.speaker}: ${point.point}`;
      const quote = document.createElement('q');
      quote.textContent = point.quote;
      li.append(' ', quote);
      list.appendChild(li);
    }
    $('so-far-note').textContent = points.length
      ? reply.generated === 'llm' ? '' : t(state.lang, 'soFarLatest')
      : t(state.lang, 'soFarEmpty');
    $('so-far-panel').hidden = false;
    $('so-far-title').focus();
  } catch (error) {
    showMessage(t(state.lang, 'rpcFailed', { error: error?.message || String(error) }));
  } finally {
    button.removeAttribute('aria-busy');
  }
}

function updateDownloads() {
  const any = store.finals().length > 0;
  $('download-vtt').disabled = !any;
  $('download-txt').disabled = !any;
}

function download(kind) {
  const finals = store.finals();
  const body = kind === 'vtt' ? toWebVTT(finals) : toText(finals);
  const type = kind === 'vtt' ? 'text/vtt' : 'text/plain';
  const blob = new Blob([body], { type: `${type};charset=utf-8` });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  const stamp = new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-');
  a.download = `captions-${room.name || 'room'}-${stamp}.${kind}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

async function onTextStream(reader, participantInfo) {
  const attrs = reader.info.attributes || {};
  const text = await reader.readAll();
  render(store.upsert(fromStream(attrs['lk.segment_id'] || reader.info.id, participantInfo.identity, text, attrs)));
}

function onData(payload, _participant, _kind, topic) {
  if (topic !== TOPIC_CAPTIONS && topic !== TOPIC_STATUS) return;
  let message;
  try {
    message = JSON.parse(decoder.decode(payload));
  } catch {
    return;
  }
  if (topic === TOPIC_STATUS) {
    applyStatus(message);
    if (!state.synced) syncWithAgent();
  } else {
    render(store.upsert(fromCaptionMessage(message)));
  }
}

// -- agent RPC ------------------------------------------------------------------------------------
async function rpc(method, payload = '') {
  const reply = await room.localParticipant.performRpc({
    destinationIdentity: config.agent,
    method,
    payload,
    responseTimeout: 10_000,
  });
  return reply ? JSON.parse(reply) : {};
}

async function fetchHistory() {
  let since = 0;
  let loaded = 0;
  for (let page = 0; page < 500; page++) {
    const reply = await rpc(RPC.history, JSON.stringify({ since }));
    const items = Array.isArray(reply.items) ? reply.items : [];
    for (const item of items) {
      const result = store.upsert(fromCaptionMessage({ ...item, type: 'caption', final: true }));
      if (result?.created) loaded++;
      render(result, { announce: false });
    }
    if (!items.length || typeof reply.next !== 'number' || reply.next >= reply.total) break;
    since = reply.next;
  }
  return loaded;
}

let syncing = null;
function syncWithAgent() {
  syncing ??= (async () => {
    // The agent may join after us (dispatch on demand): retry until it answers.
    for (let attempt = 0; !state.synced && room.state === ConnectionState.Connected; attempt++) {
      try {
        const status = await rpc(RPC.status);
        applyStatus(status);
        state.synced = true;
        fillLanguages(status.translation);
        if (config.captions && !state.captionLang) await setCaptionLanguage(config.captions);
        const loaded = await fetchHistory();
        if (loaded) showMessage(t(state.lang, 'historyLoaded', { n: loaded }));
      } catch (error) {
        if (state.synced) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 1000 + attempt * 500)));
      }
    }
  })().finally(() => {
    syncing = null;
  });
  return syncing;
}

async function control(which) {
  const button = $(which);
  button.setAttribute('aria-busy', 'true');
  try {
    applyStatus(await rpc(RPC[which]));
    state.synced = true;
    showMessage('');
  } catch (error) {
    showMessage(t(state.lang, 'rpcFailed', { error: error?.message || String(error) }));
  } finally {
    button.removeAttribute('aria-busy');
  }
}

// -- start ----------------------------------------------------------------------------------------
function onLocalAttributes() {
  const attributes = room.localParticipant.attributes || {};
  state.myStatus = attributes[ATTR_STATUS] || '';
  $('opt-out').checked = ['1', 'true', 'yes', 'on'].includes((attributes[ATTR_OPT_OUT] || '').toLowerCase());
  renderStatus();
}

async function main() {
  $('lang-toggle').addEventListener('click', toggleLanguage);
  $('smaller').addEventListener('click', () => setScale(state.scale - 0.125));
  $('larger').addEventListener('click', () => setScale(state.scale + 0.125));
  $('start').addEventListener('click', () => control('start'));
  $('stop').addEventListener('click', () => control('stop'));
  $('download-vtt').addEventListener('click', () => download('vtt'));
  $('download-txt').addEventListener('click', () => download('txt'));
  $('caption-language').addEventListener('change', (event) => setCaptionLanguage(event.target.value));
  $('so-far').addEventListener('click', showSoFar);
  $('so-far-close').addEventListener('click', () => {
    $('so-far-panel').hidden = true;
    $('so-far').focus();
  });
  $('opt-out').addEventListener('change', async (event) => {
    await room.localParticipant.setAttributes({ [ATTR_OPT_OUT]: event.target.checked ? 'true' : 'false' });
  });
  document.addEventListener('keydown', (event) => {
    if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === '+' || event.key === '=') setScale(state.scale + 0.125);
    if (event.key === '-') setScale(state.scale - 0.125);
  });
  setScale(state.scale);
  applyLanguage();
  updateDownloads();

  if (!config.url || !config.token) {
    setConnection('disconnected');
    showMessage(t(state.lang, 'missingParams'));
    return;
  }
  room.registerTextStreamHandler(TOPIC_TRANSCRIPTION, (reader, info) => {
    onTextStream(reader, info).catch((error) => console.warn('caption stream failed', error));
  });
  room
    .on(RoomEvent.DataReceived, onData)
    .on(RoomEvent.ParticipantAttributesChanged, (_changed, participant) => {
      if (participant === room.localParticipant) onLocalAttributes();
    })
    .on(RoomEvent.Disconnected, () => {
      setConnection('disconnected');
      renderStatus();
    })
    .on(RoomEvent.Reconnected, () => setConnection('connected', { room: room.name }));

  try {
    await room.connect(config.url, config.token, { autoSubscribe: false });
  } catch (error) {
    setConnection('failed', { error: error?.message || String(error) });
    renderStatus();
    return;
  }
  document.body.dataset.identity = room.localParticipant.identity;
  setConnection('connected', { room: room.name });
  onLocalAttributes();
  if (config.mic) {
    try {
      await room.localParticipant.setMicrophoneEnabled(true);
      $('mic').hidden = false;
    } catch (error) {
      showMessage(`microphone: ${error?.message || error}`);
    }
  }
  syncWithAgent();
}

window.greffierViewer = { room, store, state };
main();
