/**
 * Chat: chat.start, then chat.message in the same chat, streamed by default (the reply grows as
 * its `stream` frames arrive), Stop to abort a stream, End chat for chat.end.
 */
import { useRef, useState } from 'preact/hooks';
import { callArc, describeError, type Connection } from '../exchange';
import { arcStreamEvent, partsText, type SseFrame } from '../sse';

interface Turn {
  role: 'user' | 'agent' | 'note';
  text: string;
  streaming?: boolean;
}

const userMessage = (text: string) => ({ role: 'user', parts: [{ type: 'TextPart', content: text }] });

export function ChatPanel({ conn, agentId }: { conn: Connection; agentId: string }) {
  const [chatId, setChatId] = useState<string | null>(null);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState('');
  const [stream, setStream] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const abort = useRef<AbortController | null>(null);

  /** Updates the last turn (the agent's reply being written). */
  const patchLast = (patch: (t: Turn) => Turn): void => setTurns((all) => [...all.slice(0, -1), patch(all[all.length - 1]!)]);

  const send = async (): Promise<void> => {
    const text = input.trim();
    if (text === '' || busy) return;
    setError('');
    setInput('');
    setBusy(true);
    setTurns((all) => [...all, { role: 'user', text }, { role: 'agent', text: '', streaming: stream }]);
    const params: Record<string, unknown> =
      chatId === null ? { initialMessage: userMessage(text) } : { chatId, message: userMessage(text) };
    if (stream) params.stream = true;
    const controller = new AbortController();
    abort.current = controller;
    const onFrame = (frame: SseFrame): void => {
      const event = arcStreamEvent(frame);
      if (event.kind !== 'other' && event.chatId !== undefined) setChatId(event.chatId);
      if (event.kind === 'delta') patchLast((t) => ({ ...t, text: t.text + event.text }));
      if (event.kind === 'error') setError(describeError(event));
    };
    const { exchange, envelope } = await callArc(conn, {
      method: chatId === null ? 'chat.start' : 'chat.message',
      targetAgent: agentId,
      params,
      signal: controller.signal,
      onFrame,
    });
    abort.current = null;
    setBusy(false);
    const chat = (envelope?.result as { chat?: { chatId?: string; message?: unknown } } | undefined)?.chat;
    if (chat?.chatId !== undefined) setChatId(chat.chatId);
    if (chat?.message !== undefined) patchLast((t) => ({ ...t, text: partsText(chat.message) }));
    if (exchange.state === 'aborted') patchLast((t) => ({ ...t, text: `${t.text} [stopped]` }));
    if (exchange.error !== undefined && exchange.state !== 'aborted') setError(describeError(exchange.error));
    patchLast((t) => ({ ...t, streaming: false }));
  };

  const end = async (): Promise<void> => {
    if (chatId === null || busy) return;
    setBusy(true);
    setError('');
    const { exchange, envelope } = await callArc(conn, {
      method: 'chat.end',
      targetAgent: agentId,
      params: { chatId, reason: 'Ended in the ARC inspector' },
    });
    setBusy(false);
    if (exchange.error !== undefined) {
      setError(describeError(exchange.error));
      return;
    }
    const status = (envelope?.result as { chat?: { status?: string } } | undefined)?.chat?.status ?? 'CLOSED';
    setTurns((all) => [...all, { role: 'note', text: `Chat ${chatId} ended (${status}). The next message starts a new chat.` }]);
    setChatId(null);
  };

  return (
    <div class="chat">
      <p class="chat-state" role="status">
        {chatId === null ? 'No chat yet: the first message starts one (chat.start).' : `Chat ${chatId} is open (chat.message).`}
      </p>
      <ol class="transcript" aria-label="Conversation" aria-live="polite" aria-busy={busy}>
        {turns.map((t) => (
          <li class={`turn turn-${t.role}`}>
            {t.role !== 'note' && <span class="who">{t.role === 'user' ? 'You' : agentId}</span>}
            <span class="text">{t.text === '' && t.streaming ? '…' : t.text}</span>
          </li>
        ))}
      </ol>
      {error !== '' && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label class="grow">
          Message
          <textarea
            name="message"
            rows={2}
            value={input}
            onInput={(e) => setInput(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                void send();
              }
            }}
          />
        </label>
        <div class="buttons">
          <label class="inline">
            <input type="checkbox" checked={stream} onChange={(e) => setStream(e.currentTarget.checked)} /> Stream
          </label>
          <button type="submit" disabled={busy || input.trim() === ''}>
            Send
          </button>
          {busy && abort.current !== null && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
          <button type="button" onClick={() => void end()} disabled={chatId === null || busy}>
            End chat
          </button>
        </div>
      </form>
    </div>
  );
}
