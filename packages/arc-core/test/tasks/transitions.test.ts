/** The task transition table: every legal and every illegal move (ARC-PROTOCOL.md §5). */
import { ArcError } from '../../src/errors/arc-error';
import { ArcErrorCode } from '../../src/errors/codes';
import type { TaskStatus } from '../../src/protocol/types';
import { TASK_STATUSES, assertTransition, canTransition, isTerminal } from '../../src/tasks/transitions';

const LEGAL: Record<TaskStatus, TaskStatus[]> = {
  SUBMITTED: ['WORKING', 'CANCELED', 'FAILED'],
  WORKING: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'],
  INPUT_REQUIRED: ['WORKING', 'CANCELED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
  CANCELED: [],
};

function errorOf(from: TaskStatus, to: TaskStatus): ArcError | undefined {
  try {
    assertTransition('task-1', from, to);
    return undefined;
  } catch (err) {
    return err as ArcError;
  }
}

describe('task transitions', () => {
  it('knows the six statuses; three are terminal', () => {
    expect([...TASK_STATUSES].sort()).toEqual(['CANCELED', 'COMPLETED', 'FAILED', 'INPUT_REQUIRED', 'SUBMITTED', 'WORKING']);
    expect(TASK_STATUSES.filter(isTerminal).sort()).toEqual(['CANCELED', 'COMPLETED', 'FAILED']);
  });

  const pairs = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)('%s → %s', (from, to) => {
    const legal = LEGAL[from].includes(to);
    expect(canTransition(from, to)).toBe(legal);
    const err = errorOf(from, to);
    if (legal) {
      expect(err).toBeUndefined();
      return;
    }
    expect(err).toBeInstanceOf(ArcError);
    const expected =
      from === 'CANCELED'
        ? ArcErrorCode.TaskAlreadyCanceled
        : from === 'COMPLETED' || from === 'FAILED'
          ? ArcErrorCode.TaskAlreadyCompleted
          : ArcErrorCode.InvalidTaskStatusTransition;
    expect(err!.code).toBe(expected);
    expect(err!.details).toMatchObject({ taskId: 'task-1' });
    expect(err!.message).toContain('task-1');
  });
});
