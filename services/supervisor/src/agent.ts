/**
 * supervisor: the one entry agent of the ARC guide's supervisor pattern. A new conversation is
 * routed to a specialist (routing.ts: the guide's keyword rules, then the specialists'
 * descriptions from /agent-info, then support); from then on the conversation sticks to it:
 *
 *   chat.start    route, start a chat with the specialist, keep (agent, its chatId) with the
 *                 supervisor's own chat (ctx.saveChatState: the chat store, so Redis when
 *                 replicas share it: any supervisor replica continues any conversation)
 *   chat.message  forwarded to the same specialist chat - never routed again - (a specialist chat
 *                 that expired on its side is started again once, with this message)
 *   chat.end      ends the specialist's chat too, then the supervisor's
 *   streaming     a streamed call is relayed as a stream, chunk by chunk, under the supervisor's chatId
 *   task.*        task.create is routed like a chat; the task id the caller gets names the
 *                 specialist (`<agent>~<taskId>`), so task.info / send / cancel / subscribe
 *                 reach it from any replica without stored state
 *
 * The caller only ever talks to `supervisor`; the specialist's replies come back unchanged.
 * Calls go in process when the specialist is mounted beside it (the single server), else over
 * HTTP (ARC_GATEWAY_URL / AGENT_ROUTES), with the caller's traceId carried along.
 */
import { ArcAgent, ArcError, ArcErrorCode, messageText, newChatId, type HandlerContext, type Message, type Part } from '@arc/core';
import { DEFAULT_SPECIALISTS, type AgentDirectory } from './directory';
import { DEFAULT_FALLBACK_AGENT, defaultPolicy, firstOf, type RoutingDecision, type RoutingInput, type RoutingPolicy } from './routing';
import { forwardTask } from './tasks';

export const SUPERVISOR_AGENT_ID = 'supervisor';

export interface SupervisorOptions {
  /** The agents it routes to (default finance-agent, hr-agent, support-agent). */
  specialists?: readonly string[];
  /** Where their descriptions come from (default: none, the rules and the fallback decide). */
  directory?: AgentDirectory;
  /**
   * Your routing policy, asked first; when it answers undefined the default policy decides
   * (rules, descriptions, fallback). An answer naming an agent that is not a specialist is refused.
   */
  policy?: RoutingPolicy;
  /** Where a conversation goes when nothing decides (default support-agent). */
  fallback?: string;
}

/** What the supervisor keeps with each of its chats. */
export interface Session {
  agent: string;
  chatId: string;
  /** Why this agent (the routing decision's reason). */
  reason: string;
}

export function createSupervisorAgent(options: SupervisorOptions = {}): ArcAgent {
  const specialists = options.specialists ?? DEFAULT_SPECIALISTS;
  const fallback = options.fallback ?? (specialists.includes(DEFAULT_FALLBACK_AGENT) ? DEFAULT_FALLBACK_AGENT : specialists[0]);
  if (fallback === undefined) throw new TypeError('createSupervisorAgent: no specialists to route to');
  const policies = options.policy ? [options.policy] : [];
  const decide = firstOf([...policies, defaultPolicy({ fallback })], fallback);
  const known = new Set(specialists);

  const route = async (ctx: HandlerContext, message: Message, kind: RoutingInput['kind']): Promise<RoutingDecision> => {
    const listed = options.directory ? await options.directory.list() : specialists.map((id) => ({ id, methods: [] }));
    const agents = listed.filter((a) => known.has(a.id));
    const decision = await decide({ text: messageText(message), message, requestAgent: ctx.requestAgent, kind, agents });
    if (!known.has(decision.agent)) {
      ctx.logger.error('routing policy chose an agent that is not a specialist', {
        chosen: decision.agent.slice(0, 128),
        reason: decision.reason,
      });
      throw new Error('routing policy chose an agent that is not a specialist');
    }
    ctx.logger.info('conversation routed', { to: decision.agent, reason: decision.reason, kind });
    return decision;
  };

  return new ArcAgent(SUPERVISOR_AGENT_ID, {
    description: `Entry point: routes each conversation to the right specialist (${specialists.join(', ')}) and keeps it there`,
  })
    .on('chat.start', async (params, ctx) => {
      const decision = await route(ctx, params.initialMessage, 'chat');
      const session: Session = { agent: decision.agent, chatId: newChatId(), reason: decision.reason };
      const options = {
        chatId: session.chatId,
        signal: ctx.signal,
        ...(params.metadata !== undefined ? { metadata: params.metadata } : {}),
      };
      if (ctx.stream) {
        // Kept before the first byte: once streaming, a failure can no longer answer as JSON.
        await ctx.saveChatState({ ...session });
        return relay(ctx, session, await ctx.agents.chat.startStream(session.agent, params.initialMessage, options));
      }
      const res = await ctx.agents.chat.start(session.agent, params.initialMessage, options);
      session.chatId = res.chat.chatId;
      try {
        await ctx.saveChatState({ ...session });
      } catch (err) {
        // Our chat is undone (the caller gets the error); do not leave the specialist's open.
        await endQuietly(ctx, session);
        throw err;
      }
      return res.chat.message;
    })
    .on('chat.message', async (params, ctx) => {
      const session = sessionOf(ctx);
      try {
        if (ctx.stream)
          return relay(
            ctx,
            session,
            await ctx.agents.chat.messageStream(session.agent, session.chatId, params.message, { signal: ctx.signal }),
          );
        return (await ctx.agents.chat.message(session.agent, session.chatId, params.message, { signal: ctx.signal })).chat.message;
      } catch (err) {
        if (!(err instanceof ArcError) || err.code !== ArcErrorCode.ChatNotFound) throw err;
      }
      // The specialist no longer knows its chat (it expired there, or its store was lost):
      // start it again, once, with this message; the conversation stays with the same agent.
      ctx.logger.warn('specialist chat gone; starting it again', { to: session.agent });
      const again: Session = { ...session, chatId: newChatId() };
      await ctx.saveChatState({ ...again });
      const options = { chatId: again.chatId, signal: ctx.signal };
      if (ctx.stream) return relay(ctx, again, await ctx.agents.chat.startStream(again.agent, params.message, options));
      return (await ctx.agents.chat.start(again.agent, params.message, options)).chat.message;
    })
    .on('chat.end', async (params, ctx) => {
      const session = sessionOf(ctx);
      try {
        await ctx.agents.chat.end(session.agent, session.chatId, params.reason ?? undefined, { signal: ctx.signal });
      } catch (err) {
        // Already gone there: ending ours is all that is left. Anything else (unreachable,
        // timed out) fails the call and keeps our chat open, so the caller can end it again.
        if (!(err instanceof ArcError) || (err.code !== ArcErrorCode.ChatNotFound && err.code !== ArcErrorCode.ChatAlreadyClosed))
          throw err;
      }
    })
    .on('task.create', async (params, ctx) => {
      const decision = await route(ctx, params.initialMessage, 'task');
      return forwardTask(ctx, 'task.create', params, decision.agent, known);
    })
    .on('task.info', (params, ctx) => forwardTask(ctx, 'task.info', params, undefined, known))
    .on('task.send', (params, ctx) => forwardTask(ctx, 'task.send', params, undefined, known))
    .on('task.cancel', (params, ctx) => forwardTask(ctx, 'task.cancel', params, undefined, known))
    .on('task.subscribe', (params, ctx) => forwardTask(ctx, 'task.subscribe', params, undefined, known));
}

/** The specialist chat of this supervisor chat. */
function sessionOf(ctx: HandlerContext): Session {
  const s = ctx.chat?.state;
  if (s !== undefined && typeof s.agent === 'string' && typeof s.chatId === 'string') {
    return { agent: s.agent, chatId: s.chatId, reason: typeof s.reason === 'string' ? s.reason : '' };
  }
  // A chat started but never routed (its chat.start failed midway): nothing to continue.
  const chatId = ctx.chat?.chatId ?? '';
  throw new ArcError(ArcErrorCode.ChatNotFound, `Chat ${chatId} has no conversation with a specialist; start a new chat`, {
    chatId,
    chat_id: chatId,
  });
}

/** The specialist's stream as the supervisor's: its parts, chunk by chunk. */
async function* relay(
  ctx: HandlerContext,
  session: Session,
  stream: AsyncIterable<{ chatId: string; message: Message }> & { cancel(): void },
): AsyncGenerator<Part> {
  let checked = false;
  try {
    for await (const chunk of stream) {
      if (!checked) {
        checked = true;
        // A specialist that chose its own chatId (not the one asked for): keep the real one.
        if (chunk.chatId !== session.chatId) await ctx.saveChatState({ ...session, chatId: chunk.chatId });
      }
      yield* chunk.message.parts;
    }
  } finally {
    stream.cancel(); // the caller left, or the stream failed: close the specialist's too
  }
}

async function endQuietly(ctx: HandlerContext, session: Session): Promise<void> {
  try {
    await ctx.agents.chat.end(session.agent, session.chatId, 'supervisor chat could not be kept');
  } catch (err) {
    ctx.logger.warn('could not end the specialist chat', { to: session.agent, err: err instanceof Error ? err.message : String(err) });
  }
}

export * from './directory';
export * from './routing';
export { TASK_ID_SEPARATOR, splitTaskId } from './tasks';
