/**
 * The params of a routed request, checked before any hook or handler sees them: the method's
 * schema (standard methods' compiled at start, a custom method's on first use), the size of what
 * a chat or task would keep of `metadata`, and lowercase part types made PascalCase.
 */
import type { ValidateFunction } from 'ajv';
import { ArcError } from '../errors/arc-error';
import { ArcErrorCode } from '../errors/codes';
import { normalizeMessage } from '../protocol/parts';
import type { ArcValidator } from '../protocol/validation';
import { TASK_PRIORITIES } from '../tasks/task-engine';
import type { RegisteredHandler } from './agent';

export class ParamsCheck {
  private readonly customValidators = new WeakMap<RegisteredHandler, ValidateFunction>();

  constructor(
    private readonly validator: ArcValidator,
    /** Largest `params.metadata`, as JSON bytes. */
    private readonly maxMetadataBytes: number,
  ) {}

  /** Throws the ArcError for the first problem; normalises part types in place. */
  check(method: string, handler: RegisteredHandler | undefined, params: Record<string, unknown>): void {
    const validate = this.validatorFor(method, handler);
    if (validate) this.validate(validate, method, params);
    if (params.metadata !== undefined) this.checkMetadata(params.metadata);
    const m = (params.initialMessage ?? params.message) as { parts?: unknown } | undefined;
    if (m && typeof m === 'object') normalizeMessage(m);
  }

  private validatorFor(method: string, handler: RegisteredHandler | undefined): ValidateFunction | undefined {
    const standard = this.validator.standardParams(method);
    if (standard) return standard;
    const schema = handler?.options.paramsSchema;
    if (!handler || !schema) return undefined;
    let compiled = this.customValidators.get(handler);
    if (!compiled) {
      compiled = this.validator.compileParams(schema);
      this.customValidators.set(handler, compiled);
    }
    return compiled;
  }

  /** A bad task priority has its own code (-42010), not -32602. */
  private validate(validate: ValidateFunction, method: string, params: Record<string, unknown>): void {
    try {
      this.validator.validateParams(validate, params);
    } catch (err) {
      if (method === 'task.create' && err instanceof ArcError && err.details.field === 'params.priority') {
        throw new ArcError(ArcErrorCode.InvalidPriority, `Invalid priority: ${err.message}`, {
          field: 'params.priority',
          allowed: TASK_PRIORITIES,
        });
      }
      throw err;
    }
  }

  private checkMetadata(metadata: unknown): void {
    const bytes = Buffer.byteLength(JSON.stringify(metadata) ?? '');
    if (bytes > this.maxMetadataBytes) {
      throw new ArcError(
        ArcErrorCode.InvalidParams,
        `params.metadata is ${bytes} bytes of JSON; at most ${this.maxMetadataBytes} are accepted`,
        {
          field: 'params.metadata',
          limitBytes: this.maxMetadataBytes,
        },
      );
    }
  }
}
