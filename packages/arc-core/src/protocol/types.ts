/**
 * Wire types of ARC 1.0 as the official Python SDK (arc-sdk 1.3.1) speaks it.
 * See shared/protocol/ARC-PROTOCOL.md §2–§6.
 */
import type { ErrorDetails } from '../errors/arc-error';

export const ARC_VERSION = '1.0';

export type RequestId = string | number;

export interface ArcRequest<P = Record<string, unknown>> {
  arc: '1.0';
  id: RequestId;
  method: string;
  requestAgent: string;
  targetAgent: string;
  params: P;
  traceId?: string;
}

export interface ArcErrorObject {
  code: number;
  message: string;
  details: ErrorDetails | null;
}

export interface ArcSuccessResponse<R = unknown> {
  arc: '1.0';
  id: RequestId;
  responseAgent: string;
  targetAgent: string;
  result: R;
  error: null;
  traceId?: string | null;
}

export interface ArcErrorResponse {
  arc: '1.0';
  id: RequestId | unknown;
  responseAgent: string;
  targetAgent: string;
  result: null;
  error: ArcErrorObject;
  traceId?: string | null;
}

export type ArcResponse<R = unknown> = ArcSuccessResponse<R> | ArcErrorResponse;

// ---- messages and parts (§5) ----

export type Role = 'user' | 'agent' | 'system';

export interface TextPart {
  type: 'TextPart';
  content: string;
}
export interface DataPart {
  type: 'DataPart';
  content: unknown;
  mimeType?: string;
}
export interface FilePart {
  type: 'FilePart';
  content: string;
  mimeType: string;
  filename?: string;
}
export interface ImagePart {
  type: 'ImagePart';
  content: string;
  mimeType: string;
  width?: number;
  height?: number;
}
export interface AudioPart {
  type: 'AudioPart';
  content: string;
  mimeType: string;
  duration?: number;
}
export type Part = TextPart | DataPart | FilePart | ImagePart | AudioPart;
export type PartType = Part['type'];

export interface Message {
  role: Role;
  parts: Part[];
  timestamp?: string;
  agentId?: string;
}

// ---- chats, tasks, artifacts, subscriptions ----

export type ChatStatus = 'ACTIVE' | 'PAUSED' | 'CLOSED';

export interface Chat {
  chatId: string;
  status: ChatStatus;
  message?: Message;
  participants?: string[];
  createdAt?: string;
  updatedAt?: string;
  closedAt?: string;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export type TaskStatus = 'SUBMITTED' | 'WORKING' | 'INPUT_REQUIRED' | 'COMPLETED' | 'FAILED' | 'CANCELED';
export type TaskPriority = 'LOW' | 'NORMAL' | 'HIGH' | 'URGENT';

export interface Artifact {
  artifactId: string;
  name: string;
  description?: string;
  parts: Part[];
  createdAt: string;
  createdBy?: string;
  version?: string;
  metadata?: Record<string, unknown>;
}

export interface Task {
  taskId: string;
  status: TaskStatus;
  createdAt: string;
  updatedAt?: string;
  completedAt?: string;
  canceledAt?: string;
  reason?: string;
  priority?: TaskPriority;
  assignedAgent?: string;
  messages?: Message[];
  artifacts?: Artifact[];
  metadata?: Record<string, unknown>;
}

export const TASK_EVENTS = [
  'TASK_CREATED',
  'TASK_STARTED',
  'TASK_PAUSED',
  'TASK_RESUMED',
  'TASK_COMPLETED',
  'TASK_FAILED',
  'TASK_CANCELED',
  'NEW_MESSAGE',
  'NEW_ARTIFACT',
  'STATUS_CHANGE',
] as const;
export type TaskEvent = (typeof TASK_EVENTS)[number];

export interface Subscription {
  subscriptionId: string;
  taskId: string;
  callbackUrl: string;
  events: TaskEvent[];
  createdAt: string;
  active: boolean;
}

// ---- results ----

export interface ChatResult {
  type: 'chat';
  chat: Chat;
}
export interface TaskResult {
  type: 'task';
  task: Task;
}
export interface SubscriptionResult {
  type: 'subscription';
  subscription: Subscription;
}
export interface SuccessResult {
  success: true;
  message?: string;
}

// ---- params of the standard methods (§6) ----

export interface ChatStartParams {
  initialMessage: Message;
  chatId?: string;
  stream?: boolean;
  metadata?: Record<string, unknown>;
}
export interface ChatMessageParams {
  chatId: string;
  message: Message;
  stream?: boolean;
}
export interface ChatEndParams {
  chatId: string;
  reason?: string;
}
export interface TaskCreateParams {
  initialMessage: Message;
  priority?: TaskPriority;
  metadata?: Record<string, unknown>;
}
export interface TaskSendParams {
  taskId: string;
  message: Message;
}
export interface TaskInfoParams {
  taskId: string;
  includeMessages?: boolean;
  includeArtifacts?: boolean;
}
export interface TaskCancelParams {
  taskId: string;
  reason?: string;
}
export interface TaskSubscribeParams {
  taskId: string;
  callbackUrl: string;
  events?: TaskEvent[];
}
export interface TaskNotificationParams {
  taskId: string;
  event: TaskEvent;
  timestamp: string;
  data: { status: string; message: string; [key: string]: unknown };
}

/** Method name → params and result types, for typed handlers and the typed client. */
export interface ArcMethods {
  'chat.start': { params: ChatStartParams; result: ChatResult };
  'chat.message': { params: ChatMessageParams; result: ChatResult };
  'chat.end': { params: ChatEndParams; result: ChatResult };
  'task.create': { params: TaskCreateParams; result: TaskResult };
  'task.send': { params: TaskSendParams; result: SuccessResult };
  'task.info': { params: TaskInfoParams; result: TaskResult };
  'task.cancel': { params: TaskCancelParams; result: TaskResult };
  'task.subscribe': { params: TaskSubscribeParams; result: SubscriptionResult };
  'task.notification': { params: TaskNotificationParams; result: SuccessResult };
}

export type StandardMethod = keyof ArcMethods;
export type ChatMethod = 'chat.start' | 'chat.message' | 'chat.end';
