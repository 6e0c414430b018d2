/**
 * Reading chat stream events (protocol/sse.ts), the one decoder behind ArcClient's streams and
 * streamed agent calls: both `error` shapes of §8, `done`, skipped events, a malformed `stream`.
 */
import { chatResultEvents, decodeChatStreamEvent, parseSseData } from '../../src/protocol/sse';

const message = {
  role: 'agent',
  parts: [
    { type: 'TextPart', content: 'Hello ' },
    { type: 'DataPart', content: { a: 1 } },
    { type: 'TextPart', content: 'there' },
  ],
};

test('a stream event: its message and its delta text (TextParts joined as they are)', () => {
  expect(decodeChatStreamEvent('stream', { chatId: 'chat-1', message })).toEqual({
    type: 'stream',
    chatId: 'chat-1',
    message,
    text: 'Hello there',
  });
});

test('error events: the chat stream shape and the SDK wrapper shape; a bare text; no code is -43005', () => {
  expect(decodeChatStreamEvent('error', { chatId: 'c', error: { code: -43004, message: 'gone', details: { x: 1 } } })).toEqual({
    type: 'error',
    chatId: 'c',
    code: -43004,
    message: 'gone',
    details: { x: 1 },
    rawDetails: { x: 1 },
  });
  expect(decodeChatStreamEvent('error', { message: 'Stream error: boom', code: -43005 })).toMatchObject({
    code: -43005,
    message: 'Stream error: boom',
    chatId: undefined,
    details: {},
  });
  expect(decodeChatStreamEvent('error', parseSseData('plain words'))).toMatchObject({ code: -43005, message: 'plain words' });
  expect(decodeChatStreamEvent('error', { error: { message: 'x', details: 'not an object' } })).toMatchObject({
    code: -43005,
    details: {},
    rawDetails: 'not an object',
  });
});

test('done carries status and requestId; other events are skipped; a stream event without a message is malformed', () => {
  expect(decodeChatStreamEvent('done', { chatId: 'c', status: 'ACTIVE', done: true, requestId: 's1' })).toEqual({
    type: 'done',
    chatId: 'c',
    status: 'ACTIVE',
    requestId: 's1',
  });
  expect(decodeChatStreamEvent('done', 'not json')).toEqual({ type: 'done', chatId: undefined, status: undefined, requestId: undefined });
  expect(decodeChatStreamEvent('chat', { chatId: 'c', message })).toBeUndefined();
  expect(decodeChatStreamEvent('stream', { chatId: 'c' })).toEqual({
    type: 'malformed',
    chatId: 'c',
    reason: 'a stream event without a message',
  });
});

test('a JSON chat result stands for one stream event and done; anything else is not a chat', () => {
  expect(chatResultEvents({ type: 'chat', chat: { chatId: 'c', status: 'CLOSED', message } }, 'r1')).toEqual({
    chatId: 'c',
    events: [
      { event: 'stream', data: { chatId: 'c', message } },
      { event: 'done', data: { chatId: 'c', status: 'CLOSED', done: true, requestId: 'r1' } },
    ],
  });
  expect(chatResultEvents({ chat: { chatId: 'c' } })?.events).toEqual([
    { event: 'done', data: { chatId: 'c', status: 'ACTIVE', done: true } },
  ]);
  expect(chatResultEvents({ task: {} })).toBeUndefined();
});
