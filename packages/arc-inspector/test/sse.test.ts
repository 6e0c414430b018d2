import { arcStreamEvent, createFrameReader, partsText, readSse, type SseFrame } from '../src/sse';

const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const STREAM =
  frame('stream', { chatId: 'chat-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'Héllo ' }] } }) +
  ': keep-alive\n\n' +
  frame('stream', { chatId: 'chat-1', message: { role: 'agent', parts: [{ type: 'TextPart', content: 'wörld ✓' }] } }) +
  frame('done', { chatId: 'chat-1', status: 'ACTIVE', done: true, requestId: 's1' });

/** A ReadableStream giving `bytes` in pieces of `size` bytes (cutting frames and UTF-8 characters). */
function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

describe('readSse', () => {
  it.each([1, 2, 3, 7, 64, 10_000])('gives the same frames whatever the chunk size (%i bytes)', async (size) => {
    const frames: SseFrame[] = [];
    await readSse(streamOf(new TextEncoder().encode(STREAM), size), (f) => frames.push(f));
    expect(frames.map((f) => f.event)).toEqual(['stream', 'stream', 'done']);
    expect(frames.map(arcStreamEvent)).toEqual([
      { kind: 'delta', chatId: 'chat-1', text: 'Héllo ' },
      { kind: 'delta', chatId: 'chat-1', text: 'wörld ✓' },
      { kind: 'done', chatId: 'chat-1', status: 'ACTIVE' },
    ]);
  });

  it('hands each frame on as soon as it is complete, before the stream ends', async () => {
    let push!: (text: string) => void;
    let end!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => controller.enqueue(new TextEncoder().encode(text));
        end = () => controller.close();
      },
    });
    const frames: string[] = [];
    let first!: () => void;
    const gotFirst = new Promise<void>((resolve) => (first = resolve));
    const reading = readSse(body, (f) => {
      frames.push(f.data);
      first();
    });
    push('event: stream\ndata: {"a":1}\n');
    // Everything queued so far has been read (the reader has nothing else to wait for): no frame yet.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(frames).toEqual([]);
    push('\n');
    await gotFirst;
    expect(frames).toEqual(['{"a":1}']);
    end();
    await reading;
  });

  it('stops when its signal aborts', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(frame('stream', { message: { parts: [{ type: 'TextPart', content: 'x' }] } })));
      },
    });
    const controller = new AbortController();
    const frames: SseFrame[] = [];
    const reading = readSse(
      body,
      (f) => {
        frames.push(f);
        controller.abort();
      },
      controller.signal,
    );
    await expect(reading).resolves.toBeUndefined();
    expect(frames).toHaveLength(1);
  });
});

describe('frames', () => {
  it('keeps data that is not JSON as text', () => {
    const frames: SseFrame[] = [];
    createFrameReader((f) => frames.push(f)).feed('event: note\ndata: plain text\n\ndata: no event\n\n');
    expect(frames).toEqual([
      { event: 'note', data: 'plain text', json: undefined },
      { event: 'message', data: 'no event', json: undefined },
    ]);
    expect(arcStreamEvent(frames[0]!)).toEqual({ kind: 'other', event: 'note' });
  });

  it('reads both error shapes', () => {
    const read = (data: unknown) => arcStreamEvent({ event: 'error', data: JSON.stringify(data), json: data });
    expect(read({ chatId: 'c', error: { code: -43005, message: 'Stream error: boom' } })).toEqual({
      kind: 'error',
      chatId: 'c',
      code: -43005,
      message: 'Stream error: boom',
    });
    expect(read({ message: 'Stream failed', code: -43005 })).toEqual({
      kind: 'error',
      chatId: undefined,
      code: -43005,
      message: 'Stream failed',
    });
    expect(arcStreamEvent({ event: 'error', data: 'oops', json: undefined })).toEqual({
      kind: 'error',
      chatId: undefined,
      code: undefined,
      message: 'oops',
    });
  });

  it('joins text parts, lower-case types included, and shows other parts as JSON', () => {
    expect(
      partsText({
        parts: [
          { type: 'TextPart', content: 'a' },
          { type: 'text', content: 'b' },
          { type: 'DataPart', content: { n: 1 } },
        ],
      }),
    ).toBe('ab{"n":1}');
    expect(partsText(null)).toBe('');
  });
});
