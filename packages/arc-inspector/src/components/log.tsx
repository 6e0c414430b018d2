/**
 * The exchange log: every request the inspector made, newest first, as the raw request and
 * response (envelopes pretty-printed, SSE frames listed as they arrive), each with "Copy as curl".
 * task.info polls are folded.
 */
import { useEffect, useState } from 'preact/hooks';
import { clearLog, curlFor, describeError, subscribe, type Exchange } from '../exchange';

const pretty = (text: string | undefined): string => {
  if (text === undefined || text === '') return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

export function ExchangeLog() {
  const [list, setList] = useState<readonly Exchange[]>([]);
  useEffect(() => subscribe(setList), []);
  return (
    <section class="log" aria-labelledby="log-title">
      <div class="log-head">
        <h2 id="log-title">Exchanges</h2>
        <button type="button" onClick={clearLog} disabled={list.length === 0}>
          Clear
        </button>
      </div>
      {list.length === 0 ? (
        <p class="hint">Requests and responses appear here, raw.</p>
      ) : (
        <ol class="exchanges" reversed>
          {[...list].reverse().map((ex) => (
            <ExchangeItem key={ex.seq} ex={ex} />
          ))}
        </ol>
      )}
    </section>
  );
}

function statusLabel(ex: Exchange): string {
  const parts = [ex.status === undefined ? ex.state : String(ex.status)];
  if (ex.stream || ex.frames.length > 0) parts.push(`SSE ${ex.frames.length} frame${ex.frames.length === 1 ? '' : 's'}`);
  if (ex.state === 'streaming') parts.push('streaming');
  if (ex.error?.code !== undefined) parts.push(String(ex.error.code));
  if (ex.ms !== undefined) parts.push(`${ex.ms} ms`);
  return parts.join(' · ');
}

function ExchangeItem({ ex }: { ex: Exchange }) {
  const [copied, setCopied] = useState('');
  const copy = async (): Promise<void> => {
    const command = curlFor(ex, 'inline');
    try {
      await navigator.clipboard.writeText(command);
      setCopied(ex.hasToken ? 'Copied (with the token).' : 'Copied.');
    } catch {
      setCopied(copyWithSelection(command) ? 'Copied.' : 'Copy failed: select the command below and copy it.');
    }
  };
  const requestHead = [
    `${ex.method} ${ex.url}`,
    ...Object.entries(ex.requestHeaders).map(([k, v]) => `${k}: ${v}`),
    ...(ex.hasToken ? ['Authorization: Bearer ••••••'] : []),
  ].join('\n');
  const responseHead =
    ex.status === undefined
      ? ''
      : [`HTTP ${ex.status} ${ex.statusText ?? ''}`.trim(), ...ex.responseHeaders.map(([k, v]) => `${k}: ${v}`)].join('\n');
  return (
    <li class={`exchange state-${ex.state}`}>
      <details open={!ex.quiet}>
        <summary>
          <span class="seq">#{ex.seq}</span> <span class="title">{ex.title}</span> <span class="badge">{statusLabel(ex)}</span>
        </summary>
        <div class="ex-body">
          <div class="ex-actions">
            <button type="button" onClick={() => void copy()}>
              Copy as curl
            </button>
            <span role="status">{copied}</span>
          </div>
          <h3>Request</h3>
          <pre class="raw request">
            {requestHead}
            {ex.requestBody !== undefined && `\n\n${pretty(ex.requestBody)}`}
          </pre>
          <h3>Response</h3>
          {ex.status === undefined ? (
            <p class="muted">{ex.state === 'pending' ? 'Waiting…' : 'No response.'}</p>
          ) : (
            <pre class="raw response">
              {responseHead}
              {ex.responseBody !== undefined && `\n\n${pretty(ex.responseBody)}`}
            </pre>
          )}
          {ex.frames.length > 0 && (
            <>
              <h3>SSE frames ({ex.frames.length})</h3>
              <ol class="frames" aria-label="SSE frames">
                {ex.frames.map((f) => (
                  <li>
                    <pre class="raw frame">{`event: ${f.event}\ndata: ${f.data}`}</pre>
                  </li>
                ))}
              </ol>
            </>
          )}
          {ex.error !== undefined && <p class="error">{describeError(ex.error)}</p>}
          <details class="curl">
            <summary>curl</summary>
            <pre class="raw">{curlFor(ex, 'variable')}</pre>
            {ex.hasToken && <p class="muted">Set ARC_TOKEN to your token first; "Copy as curl" includes it.</p>}
          </details>
        </div>
      </details>
    </li>
  );
}

/** Clipboard without the async API (a page not served over https or from localhost): a selected textarea and execCommand. */
function copyWithSelection(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  try {
    return document.execCommand('copy');
  } finally {
    area.remove();
  }
}
