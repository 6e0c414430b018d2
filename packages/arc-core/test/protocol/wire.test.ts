/** The small wire helpers: SSE framing, part normalisation, method aliases, reply envelopes. */
import { ArcError } from '../../src/errors/arc-error';
import { addressOf, errorEnvelope, successEnvelope, UNREADABLE } from '../../src/protocol/envelope';
import { canonicalMethod, normalizeAliasParams, STANDARD_METHODS } from '../../src/protocol/methods';
import { agentText, messageText, normalizeMessage, textPart } from '../../src/protocol/parts';
import { formatSseEvent } from '../../src/protocol/sse';
import type { Message } from '../../src/protocol/types';

describe('formatSseEvent', () => {
  it('frames one event: event line, one compact data line, blank line, LF only', () => {
    expect(formatSseEvent({ event: 'done', data: { chatId: 'c', status: 'ACTIVE', done: true, requestId: 's1' } })).toBe(
      'event: done\ndata: {"chatId":"c","status":"ACTIVE","done":true,"requestId":"s1"}\n\n',
    );
  });

  it('keeps data on one line whatever the content, for any line splitter (also Unicode line breaks)', () => {
    const text = 'a\nb\r\nc\u2028d\u2029e\u0085f\u000bg\u000ch\u001ci';
    const frame = formatSseEvent({ event: 'stream', data: { text } });
    // Python's str.splitlines() boundaries, control characters included.
    // eslint-disable-next-line no-control-regex
    const lines = frame.split(/\r\n|[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/);
    expect(lines).toEqual(['event: stream', expect.stringMatching(/^data: \{"text":".*"\}$/), '', '']);
    expect(JSON.parse(lines[1]!.slice(6))).toEqual({ text });
  });
});

describe('parts', () => {
  it('normalises lowercase part types in place and leaves others alone', () => {
    const m = {
      role: 'user',
      parts: [
        { type: 'text', content: 'a' },
        { type: 'DataPart', content: 1 },
        { type: 'audio', content: 'x', mimeType: 'a/b' },
        { type: 'weird' },
      ],
    };
    expect(normalizeMessage(m)).toBe(m);
    expect(m.parts.map((p) => p.type)).toEqual(['TextPart', 'DataPart', 'AudioPart', 'weird']);
    expect(normalizeMessage({ parts: 'not an array' })).toEqual({ parts: 'not an array' });
  });

  it('builds agent text messages', () => {
    expect(textPart('x')).toEqual({ type: 'TextPart', content: 'x' });
    expect(agentText('hi')).toEqual({ role: 'agent', parts: [{ type: 'TextPart', content: 'hi' }] });
  });

  it('messageText joins the TextParts with newlines and skips other parts', () => {
    const m: Message = {
      role: 'user',
      parts: [
        { type: 'TextPart', content: 'a' },
        { type: 'DataPart', content: {} },
        { type: 'TextPart', content: 'b' },
      ],
    };
    expect(messageText(m)).toBe('a\nb');
    expect(messageText(undefined)).toBe('');
  });
});

describe('methods', () => {
  it('lists the nine standard methods', () => {
    expect([...STANDARD_METHODS].sort()).toEqual([
      'chat.end',
      'chat.message',
      'chat.start',
      'task.cancel',
      'task.create',
      'task.info',
      'task.notification',
      'task.send',
      'task.subscribe',
    ]);
  });

  it('resolves aliases and nothing else', () => {
    expect(canonicalMethod('task.get')).toBe('task.info');
    expect(canonicalMethod('stream.start')).toBe('chat.start');
    expect(canonicalMethod('stream.message')).toBe('chat.message');
    expect(canonicalMethod('stream.end')).toBe('chat.end');
    expect(canonicalMethod('chat.chunk')).toBe('chat.chunk');
    expect(canonicalMethod('task.info')).toBe('task.info');
  });

  it('reads streamId as chatId on stream.* only, never over an explicit chatId', () => {
    expect(normalizeAliasParams('stream.end', { streamId: 's' })).toEqual({ chatId: 's' });
    expect(normalizeAliasParams('stream.end', { streamId: 's', chatId: 'c' })).toEqual({ streamId: 's', chatId: 'c' });
    expect(normalizeAliasParams('chat.end', { streamId: 's' })).toEqual({ streamId: 's' });
  });
});

describe('envelopes', () => {
  it('addressOf reads what it can', () => {
    expect(addressOf(null)).toBe(UNREADABLE);
    expect(addressOf([1])).toBe(UNREADABLE);
    expect(addressOf({ id: 3, requestAgent: 'r', targetAgent: 't' })).toEqual({
      id: 3,
      requestAgent: 'r',
      targetAgent: 't',
      traceId: undefined,
      hasTraceId: false,
    });
    expect(addressOf({ traceId: undefined }).hasTraceId).toBe(true);
  });

  it('successEnvelope swaps agents and adds traceId only when the request had it', () => {
    expect(successEnvelope(1, 'caller', 'agent', { x: 1 }, undefined, false)).toEqual({
      arc: '1.0',
      id: 1,
      responseAgent: 'agent',
      targetAgent: 'caller',
      result: { x: 1 },
      error: null,
    });
    expect(successEnvelope('a', 'caller', 'agent', null, 't', true).traceId).toBe('t');
  });

  it('errorEnvelope falls back to the server id, "unknown" and null for unreadable fields', () => {
    const env = errorEnvelope(
      { id: { bad: true }, requestAgent: 5, targetAgent: null, traceId: 7, hasTraceId: true },
      new ArcError(-32600, 'bad'),
      'srv',
    );
    expect(env).toEqual({
      arc: '1.0',
      id: null,
      responseAgent: 'srv',
      targetAgent: 'unknown',
      traceId: null,
      result: null,
      error: { code: -32600, message: 'bad', details: {} },
    });
    expect(errorEnvelope(UNREADABLE, new ArcError(-32700, 'p'), 'srv').id).toBeNull();
  });
});
