/**
 * JSON Schemas of the ARC 1.0 envelope and of the params of the standard methods, after
 * shared/protocol/arc-openapi.yaml (components.schemas.*Params, Message, *Part) with the
 * leniencies DECISIONS.md asks for: lowercase part types accepted, DataPart content of any JSON
 * type, extra keys allowed (the Python SDK models allow them).
 */
import { MAX_ID_LENGTH, MAX_REASON_LENGTH } from './limits';
import { TASK_EVENTS } from './types';

export type JsonSchema = Record<string, unknown>;

/** Part type names accepted on input: PascalCase from the spec, lowercase from the docs site. */
export const PART_TYPE_ALIASES = {
  text: 'TextPart',
  data: 'DataPart',
  file: 'FilePart',
  image: 'ImagePart',
  audio: 'AudioPart',
} as const;
const PART_TYPES = ['TextPart', 'DataPart', 'FilePart', 'ImagePart', 'AudioPart'];

const binaryPart = (extra: JsonSchema): JsonSchema => ({
  required: ['content', 'mimeType'],
  properties: { content: { type: 'string' }, mimeType: { type: 'string' }, ...extra },
});

// `required` in the condition: a part without `type` must not match every branch (it would be
// reported as e.g. "mimeType is required" instead of "type is required").
const whenType = (names: string[], then: JsonSchema): JsonSchema => ({
  if: { required: ['type'], properties: { type: { enum: names } } },
  then,
});

export const partSchema: JsonSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: [...PART_TYPES, ...Object.keys(PART_TYPE_ALIASES)] },
  },
  allOf: [
    whenType(['TextPart', 'text'], { required: ['content'], properties: { content: { type: 'string' } } }),
    whenType(['DataPart', 'data'], { required: ['content'], properties: { mimeType: { type: 'string' } } }),
    whenType(['FilePart', 'file'], binaryPart({ filename: { type: 'string' } })),
    whenType(['ImagePart', 'image'], binaryPart({ width: { type: 'integer' }, height: { type: 'integer' } })),
    whenType(['AudioPart', 'audio'], binaryPart({ duration: { type: 'number' } })),
  ],
};

export const messageSchema: JsonSchema = {
  type: 'object',
  required: ['role', 'parts'],
  properties: {
    role: { type: 'string', enum: ['user', 'agent', 'system'] },
    parts: { type: 'array', minItems: 1, items: partSchema },
    timestamp: { type: 'string', format: 'date-time' },
    agentId: { type: 'string' },
  },
};

const id = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH };
const reason = { type: ['string', 'null'], maxLength: MAX_REASON_LENGTH };
const metadata = { type: 'object' };
const taskEvent = { type: 'string', enum: [...TASK_EVENTS] };

/**
 * The request envelope (ARC-PROTOCOL.md §2). `required` is in the order the SDK checks it.
 * The string fields' length limit (ENVELOPE_STRING_FIELDS, MAX_ID_LENGTH; DECISIONS.md 12) is
 * checked by ArcValidator after the schema: ajv's maxLength counts code points one by one, a
 * comparison of lengths costs nothing.
 */
export const ENVELOPE_STRING_FIELDS = ['id', 'method', 'requestAgent', 'targetAgent', 'traceId'] as const;

export const envelopeSchema: JsonSchema = {
  type: 'object',
  required: ['arc', 'id', 'method', 'requestAgent', 'targetAgent', 'params'],
  properties: {
    arc: { const: '1.0' },
    id: { type: ['string', 'number'] },
    method: { type: 'string', minLength: 1 },
    requestAgent: { type: 'string', minLength: 1 },
    targetAgent: { type: 'string', minLength: 1 },
    params: { type: 'object' },
    traceId: { type: 'string' },
  },
};

/** Params of the nine standard methods, keyed by canonical method name. */
export const paramsSchemas: Record<string, JsonSchema> = {
  'chat.start': {
    type: 'object',
    required: ['initialMessage'],
    properties: { initialMessage: messageSchema, chatId: id, stream: { type: 'boolean' }, metadata },
  },
  'chat.message': {
    type: 'object',
    required: ['chatId', 'message'],
    properties: { chatId: id, message: messageSchema, stream: { type: 'boolean' } },
  },
  'chat.end': {
    type: 'object',
    required: ['chatId'],
    properties: { chatId: id, reason },
  },
  'task.create': {
    type: 'object',
    required: ['initialMessage'],
    properties: {
      initialMessage: messageSchema,
      priority: { type: 'string', enum: ['LOW', 'NORMAL', 'HIGH', 'URGENT'] },
      metadata,
    },
  },
  'task.send': {
    type: 'object',
    required: ['taskId', 'message'],
    properties: { taskId: id, message: messageSchema },
  },
  'task.info': {
    type: 'object',
    required: ['taskId'],
    properties: { taskId: id, includeMessages: { type: 'boolean' }, includeArtifacts: { type: 'boolean' } },
  },
  'task.cancel': {
    type: 'object',
    required: ['taskId'],
    properties: { taskId: id, reason },
  },
  'task.subscribe': {
    type: 'object',
    required: ['taskId', 'callbackUrl'],
    properties: {
      taskId: id,
      callbackUrl: { type: 'string', format: 'uri', pattern: '^https?://' },
      events: { type: 'array', items: taskEvent },
    },
  },
  'task.notification': {
    type: 'object',
    required: ['taskId', 'event', 'timestamp', 'data'],
    properties: {
      taskId: id,
      event: taskEvent,
      timestamp: { type: 'string', format: 'date-time' },
      // The SDK's WebhookManager sends no `message` in some events (captures/webhook_delivery.txt).
      data: {
        type: 'object',
        required: ['status'],
        properties: { status: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};
