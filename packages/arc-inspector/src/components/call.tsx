/**
 * Call: any method with params written as JSON (checked as you type), sent as one ARC request;
 * `"stream": true` in the params reads the answer as SSE. The answer is shown here and, whole,
 * in the exchange log.
 */
import { useRef, useState } from 'preact/hooks';
import type { AgentEntry } from '../agents';
import { callArc, describeError, type Connection } from '../exchange';
import { checkParams } from '../params';

const STANDARD_METHODS = [
  'chat.start',
  'chat.message',
  'chat.end',
  'task.create',
  'task.info',
  'task.send',
  'task.cancel',
  'task.subscribe',
  'task.notification',
];

const text = (content: string) => ({ role: 'user', parts: [{ type: 'TextPart', content }] });
/** Example params per method, to start from. */
const EXAMPLES: Record<string, unknown> = {
  'chat.start': { initialMessage: text('Hello'), stream: true },
  'chat.message': { chatId: 'chat-…', message: text('Hello again') },
  'chat.end': { chatId: 'chat-…', reason: 'done' },
  'task.create': { initialMessage: text('Invoice summary report for INV-12345'), priority: 'NORMAL' },
  'task.info': { taskId: 'task-…', includeMessages: true, includeArtifacts: true },
  'task.send': { taskId: 'task-…', message: text('More input') },
  'task.cancel': { taskId: 'task-…', reason: 'no longer needed' },
  'task.subscribe': { taskId: 'task-…', callbackUrl: 'https://example.com/hook', events: ['TASK_COMPLETED', 'TASK_FAILED'] },
};

export function CallPanel({ conn, agent }: { conn: Connection; agent: AgentEntry }) {
  const [method, setMethod] = useState('chat.start');
  const [source, setSource] = useState(JSON.stringify(EXAMPLES['chat.start'], null, 2));
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ text: string; error: boolean } | null>(null);
  const abort = useRef<AbortController | null>(null);
  const checked = checkParams(source);
  const methods = [...new Set([...(agent.methods ?? []), ...STANDARD_METHODS])];

  const send = async (): Promise<void> => {
    if (!('params' in checked) || method.trim() === '' || busy) return;
    setBusy(true);
    setAnswer(null);
    const controller = new AbortController();
    abort.current = controller;
    const { exchange, envelope } = await callArc(conn, {
      method: method.trim(),
      targetAgent: agent.id,
      params: checked.params,
      signal: controller.signal,
    });
    abort.current = null;
    setBusy(false);
    if (exchange.error !== undefined) setAnswer({ text: describeError(exchange.error), error: true });
    else if (exchange.frames.length > 0)
      setAnswer({ text: `Streamed ${exchange.frames.length} frame(s): see the exchange log.`, error: false });
    else setAnswer({ text: JSON.stringify(envelope?.result ?? envelope ?? null, null, 2), error: false });
  };

  return (
    <form
      class="call"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <div class="row">
        <label>
          Method
          <input name="method" list="arc-methods" value={method} onInput={(e) => setMethod(e.currentTarget.value)} spellcheck={false} />
        </label>
        <datalist id="arc-methods">
          {methods.map((m) => (
            <option value={m} />
          ))}
        </datalist>
        <button
          type="button"
          onClick={() => setSource(JSON.stringify(EXAMPLES[method.trim()] ?? {}, null, 2))}
          title="Replace the params with an example for this method"
        >
          Example params
        </button>
      </div>
      <label>
        Params (JSON)
        <textarea
          name="params"
          class="code"
          rows={10}
          spellcheck={false}
          value={source}
          onInput={(e) => setSource(e.currentTarget.value)}
          aria-invalid={'problem' in checked}
          aria-describedby="params-check"
        />
      </label>
      <p id="params-check" class={'problem' in checked ? 'error' : 'muted'} aria-live="polite">
        {'problem' in checked ? checked.problem : 'Valid JSON object.'}
      </p>
      <div class="buttons">
        <button type="submit" disabled={busy || !('params' in checked) || method.trim() === ''}>
          Send
        </button>
        {busy && (
          <button type="button" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        )}
      </div>
      {answer !== null && (
        <section aria-label="Answer">
          <h3>Answer</h3>
          <pre class={answer.error ? 'error' : 'code'} role={answer.error ? 'alert' : undefined}>
            {answer.text}
          </pre>
        </section>
      )}
    </form>
  );
}
