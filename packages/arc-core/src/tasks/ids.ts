/** Ids the task engine makes: `task-` and `sub-` followed by 16 hex digits (64 random bits). */
import { randomBytes } from 'node:crypto';

export function newTaskId(): string {
  return `task-${randomBytes(8).toString('hex')}`;
}

export function newSubscriptionId(): string {
  return `sub-${randomBytes(8).toString('hex')}`;
}

export function newArtifactId(): string {
  return `artifact-${randomBytes(8).toString('hex')}`;
}
