// A page built only from LiveKit's own React components: what an application using
// @livekit/components-react shows of greffier's captions, with no greffier code at all.
// useTranscriptions() reads the lk.transcription text streams and replaces an interim by the
// next stream with the same lk.segment_id (its final). URL: react.html?url=ws://...&token=...
import { LiveKitRoom, useTranscriptions } from '@livekit/components-react';
import { createRoot } from 'react-dom/client';

function Captions() {
  const transcriptions = useTranscriptions();
  return (
    <ol id="captions">
      {transcriptions.map((t) => {
        const attributes = t.streamInfo.attributes || {};
        return (
          <li
            key={attributes['lk.segment_id'] || t.streamInfo.id}
            data-identity={t.participantInfo.identity}
            data-segment-id={attributes['lk.segment_id'] || ''}
            data-final={attributes['lk.transcription_final'] || ''}
          >
            {t.text}
          </li>
        );
      })}
    </ol>
  );
}

const params = new URLSearchParams(location.search);
createRoot(document.getElementById('root')).render(
  <LiveKitRoom
    serverUrl={params.get('url')}
    token={params.get('token')}
    connect
    audio={false}
    video={false}
    onConnected={() => { document.body.dataset.connected = 'true'; }}
  >
    <Captions />
  </LiveKitRoom>,
);
