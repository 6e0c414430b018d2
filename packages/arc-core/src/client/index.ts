export { ArcClient, type ArcClientOptions, type CallOptions, type MessageInput, type TaskApi } from './arc-client';
export { ArcResponseError, ArcTimeoutError, ArcTransportError, ArcWaitTimeoutError, ClientCredentialsError } from './errors';
export { clientCredentials, type ClientCredentialsOptions, type TokenProvider } from './token-provider';
export { DEFAULT_RETRIES, type RetryOptions } from './retry';
export type { CanceledTask, CreatedTask, TaskCancelResult, TaskCreateResult, TaskInfo, TaskInfoResult, TaskMethods } from './task-types';
export type { WaitForTaskOptions } from './wait-for-task';
