export { ArcClient, type ArcClientOptions, type CallOptions, type MessageInput } from './arc-client';
export { ArcResponseError, ArcTimeoutError, ArcTransportError } from './errors';
