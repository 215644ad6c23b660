// Interface strings, French and English. The `lang` URL parameter picks one; the toggle switches.
export const STRINGS = {
  en: {
    title: 'Live captions',
    connecting: 'Connecting…',
    connected: 'Connected to room {room}',
    disconnected: 'Disconnected',
    failed: 'Could not join the room: {error}',
    missingParams: 'Missing URL parameters: add ?url=ws://…&token=… to this page’s address.',
    statusActive: 'Transcription active',
    statusPaused: 'Captions paused',
    statusOptedOut: 'You are not transcribed (opted out)',
    statusUnknown: 'Captioning agent not connected yet',
    start: 'Start captions',
    stop: 'Stop captions',
    downloadVtt: 'Download WebVTT',
    downloadTxt: 'Download text',
    smaller: 'Smaller text',
    larger: 'Larger text',
    language: 'Français',
    languageLabel: 'Passer l’interface en français',
    optOut: 'Do not transcribe me',
    mic: 'Microphone on',
    captionsRegion: 'Captions',
    controls: 'Caption controls',
    empty: 'Captions will appear here when someone speaks.',
    rpcFailed: 'The captioning agent did not answer: {error}',
    historyLoaded: '{n} earlier caption(s) loaded',
    interim: '(in progress)',
    captionLanguage: 'Captions in',
    original: 'Original',
    soFar: 'The meeting so far',
    soFarEmpty: 'Nothing has been said yet.',
    soFarLatest: 'No summary available here: the latest captions.',
    close: 'Close',
  },
  fr: {
    title: 'Sous-titres en direct',
    connecting: 'Connexion…',
    connected: 'Connecté à la salle {room}',
    disconnected: 'Déconnecté',
    failed: 'Impossible de rejoindre la salle : {error}',
    missingParams: 'Paramètres manquants : ajoutez ?url=ws://…&token=… à l’adresse de cette page.',
    statusActive: 'Transcription active',
    statusPaused: 'Sous-titres en pause',
    statusOptedOut: 'Vous n’êtes pas transcrit·e (refus)',
    statusUnknown: 'Agent de sous-titrage pas encore connecté',
    start: 'Démarrer les sous-titres',
    stop: 'Arrêter les sous-titres',
    downloadVtt: 'Télécharger en WebVTT',
    downloadTxt: 'Télécharger en texte',
    smaller: 'Texte plus petit',
    larger: 'Texte plus grand',
    language: 'English',
    languageLabel: 'Switch the interface to English',
    optOut: 'Ne pas me transcrire',
    mic: 'Micro activé',
    captionsRegion: 'Sous-titres',
    controls: 'Commandes des sous-titres',
    empty: 'Les sous-titres apparaîtront ici quand quelqu’un parlera.',
    rpcFailed: 'L’agent de sous-titrage n’a pas répondu : {error}',
    historyLoaded: '{n} sous-titre(s) antérieur(s) chargé(s)',
    interim: '(en cours)',
    captionLanguage: 'Sous-titres en',
    original: 'Original',
    soFar: 'La réunion jusqu’ici',
    soFarEmpty: 'Rien n’a encore été dit.',
    soFarLatest: 'Pas de résumé disponible ici : les derniers sous-titres.',
    close: 'Fermer',
  },
};

export function pickLanguage(param, navigatorLanguage) {
  for (const candidate of [param, navigatorLanguage]) {
    const code = String(candidate || '').slice(0, 2).toLowerCase();
    if (code in STRINGS) return code;
  }
  return 'en';
}

export function t(lang, key, vars = {}) {
  const template = (STRINGS[lang] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}
