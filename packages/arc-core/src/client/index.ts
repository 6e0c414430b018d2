export { ArcClient, type ArcClientOptions, type CallOptions, type MessageInput, type TaskApi } from './arc-client';
export { ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError } from './errors';
export type { CanceledTask, CreatedTask, TaskCancelResult, TaskCreateResult, TaskInfo, TaskInfoResult, TaskMethods } from './task-types';
export type { WaitForTaskOptions } from './wait-for-task';
