/**
 * Task: task.create, then task.info read again and again (soon after a change, less often while
 * nothing changes: poll.ts) until the task ends; its status, progress, messages and artifacts
 * shown live; task.cancel; task.send when the agent asks for input.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { callArc, describeError, type Connection } from '../exchange';
import { TERMINAL_STATUSES, nextPollDelay } from '../poll';
import { partsText } from '../sse';

interface Part {
  type?: string;
  content?: unknown;
  mimeType?: string;
}
interface TaskView {
  taskId: string;
  status: string;
  statusMessage?: string;
  requiredInput?: string;
  error?: { code?: number; message?: string };
  messages?: Array<{ role?: string; parts?: Part[] }>;
  artifacts?: Array<{ artifactId?: string; name?: string; description?: string; parts?: Part[] }>;
}

const userMessage = (text: string) => ({ role: 'user', parts: [{ type: 'TextPart', content: text }] });
const PRIORITIES = ['LOW', 'NORMAL', 'HIGH', 'URGENT'];

export function TaskPanel({ conn, agentId }: { conn: Connection; agentId: string }) {
  const [text, setText] = useState('');
  const [priority, setPriority] = useState('NORMAL');
  const [task, setTask] = useState<TaskView | null>(null);
  const [reply, setReply] = useState('');
  const [error, setError] = useState('');
  const [polling, setPolling] = useState(false);
  const [busy, setBusy] = useState(false);
  /** The poll in progress: bumping it stops the previous one. */
  const generation = useRef(0);
  useEffect(() => () => void generation.current++, []);

  const poll = async (taskId: string): Promise<void> => {
    const mine = ++generation.current;
    setPolling(true);
    let delay = 0;
    let last = '';
    for (;;) {
      const { exchange, envelope } = await callArc(conn, {
        method: 'task.info',
        targetAgent: agentId,
        params: { taskId, includeMessages: true, includeArtifacts: true },
        quiet: true,
      });
      if (mine !== generation.current) return;
      if (exchange.error !== undefined) {
        setError(`Stopped following the task: ${describeError(exchange.error)}`);
        break;
      }
      const info = (envelope?.result as { task?: TaskView } | undefined)?.task;
      if (info === undefined) {
        setError('Stopped following the task: task.info answered without result.task');
        break;
      }
      setTask(info);
      const seen = JSON.stringify([info.status, info.statusMessage, info.messages?.length, info.artifacts?.length]);
      delay = nextPollDelay(delay, seen !== last);
      last = seen;
      if (TERMINAL_STATUSES.has(info.status)) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (mine !== generation.current) return;
    }
    setPolling(false);
  };

  const create = async (): Promise<void> => {
    const message = text.trim();
    if (message === '' || busy) return;
    generation.current++;
    setBusy(true);
    setError('');
    setTask(null);
    const { exchange, envelope } = await callArc(conn, {
      method: 'task.create',
      targetAgent: agentId,
      params: { initialMessage: userMessage(message), priority },
    });
    setBusy(false);
    const created = (envelope?.result as { task?: TaskView } | undefined)?.task;
    if (exchange.error !== undefined || created === undefined) {
      setError(exchange.error ? describeError(exchange.error) : 'task.create answered without result.task');
      return;
    }
    setTask(created);
    void poll(created.taskId);
  };

  const act = async (method: 'task.cancel' | 'task.send', params: Record<string, unknown>): Promise<void> => {
    if (task === null) return;
    setBusy(true);
    setError('');
    const { exchange } = await callArc(conn, { method, targetAgent: agentId, params: { taskId: task.taskId, ...params } });
    setBusy(false);
    if (exchange.error !== undefined) setError(describeError(exchange.error));
    if (method === 'task.send' && exchange.error === undefined) setReply('');
    void poll(task.taskId);
  };

  const terminal = task !== null && TERMINAL_STATUSES.has(task.status);
  return (
    <div class="task">
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label class="grow">
          Task request
          <textarea name="task" rows={2} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <label>
            Priority
            <select value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
              {PRIORITIES.map((p) => (
                <option value={p}>{p}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy || text.trim() === ''}>
            Create task
          </button>
        </div>
      </form>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {task !== null && (
        <div class="task-view">
          <dl class="facts">
            <dt>Task</dt>
            <dd>
              <code>{task.taskId}</code>
            </dd>
            <dt>Status</dt>
            <dd role="status" aria-live="polite">
              <span class={`status status-${task.status}`}>{task.status}</span>
              {polling && !terminal && <span class="muted"> (following)</span>}
            </dd>
            {task.statusMessage !== undefined && (
              <>
                <dt>Progress</dt>
                <dd>{task.statusMessage}</dd>
              </>
            )}
            {task.error !== undefined && (
              <>
                <dt>Error</dt>
                <dd class="error">{describeError({ code: task.error.code, message: task.error.message ?? '' })}</dd>
              </>
            )}
          </dl>
          {task.status === 'INPUT_REQUIRED' && (
            <form
              class="composer"
              onSubmit={(e) => {
                e.preventDefault();
                if (reply.trim() !== '') void act('task.send', { message: userMessage(reply.trim()) });
              }}
            >
              <label class="grow">
                {task.requiredInput ?? 'The agent needs more input'}
                <input name="reply" value={reply} onInput={(e) => setReply(e.currentTarget.value)} />
              </label>
              <button type="submit" disabled={busy || reply.trim() === ''}>
                Send input
              </button>
            </form>
          )}
          {!terminal && (
            <button type="button" onClick={() => void act('task.cancel', { reason: 'Canceled in the ARC inspector' })} disabled={busy}>
              Cancel task
            </button>
          )}
          {task.messages !== undefined && task.messages.length > 0 && (
            <section aria-label="Task messages">
              <h3>Messages</h3>
              <ol class="transcript">
                {task.messages.map((m) => (
                  <li class={`turn turn-${m.role === 'user' ? 'user' : 'agent'}`}>
                    <span class="who">{m.role === 'user' ? 'You' : agentId}</span>
                    <span class="text">{partsText(m)}</span>
                  </li>
                ))}
              </ol>
            </section>
          )}
          {task.artifacts !== undefined && task.artifacts.length > 0 && (
            <section aria-label="Artifacts">
              <h3>Artifacts</h3>
              {task.artifacts.map((a) => (
                <article class="artifact">
                  <h4>{a.name ?? a.artifactId ?? 'artifact'}</h4>
                  {a.description !== undefined && <p>{a.description}</p>}
                  {(a.parts ?? []).map((p) => (
                    <pre class="part">{typeof p.content === 'string' ? p.content : JSON.stringify(p.content, null, 2)}</pre>
                  ))}
                </article>
              ))}
            </section>
          )}
        </div>
      )}
    </div>
  );
}
