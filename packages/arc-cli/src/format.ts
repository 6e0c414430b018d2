/**
 * Messages, parts, artifacts and tasks as lines for people (what --json prints instead is the
 * protocol's own JSON). Pure functions: the unit tests pin them.
 */
import type { Artifact, Message, Part } from '@arc/core';
import type { TaskInfo } from '@arc/core/client';
import type { Colours } from './output';

/** One part on one line: a TextPart's text, the JSON of a DataPart, a note for files and media. */
export function partText(part: Part): string {
  const p = part as Part & { content?: unknown; mimeType?: string; filename?: string };
  switch (p.type) {
    case 'TextPart':
      return String(p.content);
    case 'DataPart': {
      const json = typeof p.content === 'string' ? p.content : JSON.stringify(p.content);
      return `[data${p.mimeType ? ` ${p.mimeType}` : ''}] ${json}`;
    }
    default: {
      const size = typeof p.content === 'string' ? `, ${Math.floor((p.content.length * 3) / 4)} bytes` : '';
      const name = p.filename ? ` ${p.filename}` : '';
      return `[${String(p.type).replace(/Part$/, '').toLowerCase()}${name}${p.mimeType ? ` ${p.mimeType}` : ''}${size}]`;
    }
  }
}

/** A message's parts, each on its own line. */
export function messageText(message: Message): string {
  return message.parts.map(partText).join('\n');
}

/** "text" with every line after the first indented. */
export function indent(text: string, prefix = '  '): string {
  return text.replace(/\n/g, `\n${prefix}`);
}

export function artifactLines(a: Artifact): string[] {
  const head = `${a.name}${a.description ? ` — ${a.description}` : ''}`;
  return [head, ...a.parts.map((p) => `  ${indent(partText(p), '    ')}`)];
}

export function statusColour(c: Colours, status: string): string {
  if (status === 'COMPLETED') return c.green(status);
  if (status === 'FAILED' || status === 'CANCELED') return c.red(status);
  if (status === 'INPUT_REQUIRED') return c.yellow(status);
  return c.cyan(status);
}

/** `arc task info`: the task, its messages and artifacts, and what this server adds (docs/tasks.md). */
export function taskLines(t: TaskInfo, c: Colours): string[] {
  const lines = [`${c.bold(t.taskId)}  ${statusColour(c, t.status)}${t.priority ? `  priority ${t.priority}` : ''}`];
  const times = (
    [
      ['created', t.createdAt],
      ['started', t.startedAt],
      ['updated', t.updatedAt],
      ['completed', t.completedAt],
      ['failed', t.failedAt],
      ['canceled', t.canceledAt],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (times.length > 0) lines.push(c.dim(times.map(([k, v]) => `${k} ${v}`).join(', ')));
  if (t.statusMessage) lines.push(`progress: ${t.statusMessage}`);
  if (t.requiredInput) lines.push(c.yellow(`needs input: ${t.requiredInput}`));
  if (t.reason) lines.push(`reason: ${t.reason}`);
  if (t.error) lines.push(c.red(`error: ${t.error.code} ${t.error.message}`));
  if (t.messages && t.messages.length > 0) {
    lines.push(`messages (${t.messages.length}):`);
    for (const m of t.messages) lines.push(`  ${m.role}: ${indent(messageText(m), '    ')}`);
  }
  if (t.artifacts && t.artifacts.length > 0) {
    lines.push(`artifacts (${t.artifacts.length}):`);
    for (const a of t.artifacts) lines.push(...artifactLines(a).map((l) => `  ${l}`));
  }
  for (const sub of t.subscriptions ?? []) {
    const d = sub.deliveries;
    lines.push(
      c.dim(`webhook ${sub.subscriptionId} → ${sub.callbackUrl} [${sub.events.join(', ')}]: ${d.delivered} delivered, ${d.failed} failed`),
    );
  }
  return lines;
}

/** Seconds with one decimal: "1.6s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
