/**
 * examples/fan-out.mjs (docs/supervisor.md) as a user runs it: against the single server, it
 * asks the three specialists at once and prints their answers, with the fourth agent (nothing
 * listens at its address) reported as failed - partial results, not an error.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startService, stopAll, type Proc } from './support/processes';

let single: Proc;
beforeAll(async () => {
  single = await startService('single-server');
});
afterAll(stopAll);

test('node examples/fan-out.mjs prints every answer, the unreachable agent as failed', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'examples', 'fan-out.mjs'), 'Where is my invoice?', `${single.url}/arc`],
    { cwd: ROOT, timeout: 30_000 },
  );
  expect(stdout.trim().split('\n')).toEqual([
    'Answers to "Where is my invoice?":',
    'finance-agent: I can help with invoice inquiries. Please provide invoice number.',
    'hr-agent: I handle HR matters: salary, benefits, leave. How can I assist?',
    "support-agent: Hi! I'm here to help with general support. What do you need?",
    'legal-agent: failed (-41003)',
  ]);
});
