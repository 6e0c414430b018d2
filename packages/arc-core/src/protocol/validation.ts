/**
 * Validation of envelopes and params with ajv. Every schema is compiled once (at start-up, or
 * when an agent registers a custom method); each violation becomes an ArcError whose message
 * names the field, e.g. `params.initialMessage.parts[0].content must be a string`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { MAX_ID_LENGTH, clip } from './limits';
import { ENVELOPE_STRING_FIELDS, envelopeSchema, paramsSchemas, type JsonSchema } from './schemas';
import { ARC_VERSION, type ArcRequest } from './types';

const ENVELOPE_FIELDS = ['arc', 'id', 'method', 'requestAgent', 'targetAgent', 'params'];

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv, ['date-time', 'uri']);
  return ajv;
}

/** `/initialMessage/parts/0/content` → `params.initialMessage.parts[0].content`. */
export function fieldPath(root: string, instancePath: string): string {
  if (instancePath === '') return root;
  let out = root;
  for (const raw of instancePath.slice(1).split('/')) {
    // A custom schema may reach into a client's own keys: show a bounded prefix of those.
    const seg = String(clip(raw.replace(/~1/g, '/').replace(/~0/g, '~'), 64));
    out += /^\d+$/.test(seg) ? `[${seg}]` : `.${seg}`;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function describeType(type: unknown): string {
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => TYPE_NAMES[String(t)] ?? String(t)).join(' or ');
}

/** One ajv error as a sentence about the field it concerns. */
export function describeAjvError(root: string, err: ErrorObject): string {
  const path = fieldPath(root, err.instancePath);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return `${path}.${String(p.missingProperty)} is required`;
    case 'type':
      return `${path} must be ${describeType(p.type)}`;
    case 'enum':
      return `${path} must be one of: ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}`;
    case 'const':
      return `${path} must be ${JSON.stringify(p.allowedValue)}`;
    case 'minItems':
      return `${path} must contain at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`;
    case 'minLength':
      return `${path} must not be empty`;
    case 'maxLength':
      return `${path} must be at most ${String(p.limit)} characters`;
    case 'format':
      return `${path} must be a valid ${String(p.format)}`;
    case 'pattern':
      return `${path} must match ${String(p.pattern)}`;
    default:
      return `${path} ${err.message ?? 'is invalid'}`;
  }
}

/** Ajv reports an `if/then` failure twice: the inner error, then "must match then". Keep the inner one. */
function firstRealError(errors: ErrorObject[]): ErrorObject {
  return errors.find((e) => e.keyword !== 'if' && e.keyword !== 'allOf') ?? errors[0]!;
}

export class ArcValidator {
  private readonly ajv = newAjv();
  private readonly envelope: ValidateFunction;
  private readonly params = new Map<string, ValidateFunction>();

  constructor() {
    // The envelope validator reports every error so the most relevant one can be chosen in the
    // SDK's order; it only does extra work for invalid envelopes.
    const all = new Ajv({ allErrors: true, strict: false });
    this.envelope = all.compile(envelopeSchema);
    for (const [method, schema] of Object.entries(paramsSchemas)) this.params.set(method, this.ajv.compile(schema));
  }

  /** Compiles a params schema for a custom method. Call at registration time, not per request. */
  compileParams(schema: JsonSchema): ValidateFunction {
    return this.ajv.compile(schema);
  }

  /** The compiled validator of a standard method's params. */
  standardParams(method: string): ValidateFunction | undefined {
    return this.params.get(method);
  }

  /**
   * Checks a parsed body is a valid request envelope, in the SDK's order: an object; required
   * fields in order; `arc` version; then the types of the fields.
   */
  validateEnvelope(body: unknown): ArcRequest {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      const what = body === null ? 'null' : Array.isArray(body) ? 'an array (batches are not supported)' : `a ${typeof body}`;
      throw new ArcError(ArcErrorCode.InvalidRequest, `Request body must be a JSON object, got ${what}`);
    }
    if (this.envelope(body)) {
      const req = body as ArcRequest;
      if (
        (typeof req.id === 'string' && req.id.length > MAX_ID_LENGTH) ||
        req.method.length > MAX_ID_LENGTH ||
        req.requestAgent.length > MAX_ID_LENGTH ||
        req.targetAgent.length > MAX_ID_LENGTH ||
        (req.traceId !== undefined && req.traceId.length > MAX_ID_LENGTH)
      ) {
        const field = ENVELOPE_STRING_FIELDS.find(
          (f) => String((req as unknown as Record<string, unknown>)[f] ?? '').length > MAX_ID_LENGTH,
        )!;
        this.fail(ArcErrorCode.InvalidRequest, `${field} must be at most ${MAX_ID_LENGTH} characters`, field);
      }
      return req;
    }
    const errs = this.envelope.errors ?? [];
    const obj = body as Record<string, unknown>;
    for (const field of ENVELOPE_FIELDS) {
      if (!(field in obj)) throw new ArcError(ArcErrorCode.InvalidRequest, `Missing required field: ${field}`, { field });
    }
    if (obj.arc !== ARC_VERSION) {
      throw new ArcError(ArcErrorCode.InvalidArcVersion, `Invalid ARC version: ${String(clip(obj.arc, 32))}`, {
        supportedVersion: ARC_VERSION,
      });
    }
    const err = errs[0]!;
    const field = err.instancePath.slice(1);
    const code = field === 'params' ? ArcErrorCode.InvalidParams : ArcErrorCode.InvalidRequest;
    return this.fail(code, describeAjvError('request', err).replace(/^request\./, ''), field);
  }

  /** Checks params against a compiled validator; throws -32602 naming the first bad field. */
  validateParams(validate: ValidateFunction, params: unknown): void {
    if (validate(params)) return;
    const err = firstRealError(validate.errors ?? []);
    // A `required` error sits on the parent object; `details.field` names the missing field itself.
    const parent = fieldPath('params', err.instancePath);
    const field =
      err.keyword === 'required' ? `${parent}.${String((err.params as { missingProperty?: unknown }).missingProperty)}` : parent;
    this.fail(ArcErrorCode.InvalidParams, describeAjvError('params', err), field);
  }

  private fail(code: number, message: string, field: string): never {
    throw new ArcError(code, message, { field });
  }
}
