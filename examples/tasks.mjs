// Tasks with the TypeScript client: an invoice report (finance), a leave request that needs the
// dates (hr: INPUT_REQUIRED, answered with task.send). Usage: node examples/tasks.mjs [http://localhost:8000/arc]
// (ARC_TOKEN: the bearer token, with auth on)
import { ArcClient } from '@arc/core/client';

const url = process.argv[2] ?? process.env.ARC_URL ?? 'http://localhost:8000/arc';
const client = new ArcClient(url, { requestAgent: 'tasks-example', token: process.env.ARC_TOKEN || undefined });

const created = await client.task.create('finance-agent', 'Invoice summary report for INV-12345');
console.log(`finance-agent: task ${created.result.task.status}`); // SUBMITTED, at once
const report = await client.task.waitFor('finance-agent', created.result.task.taskId, {
  timeoutMs: 60_000,
  onProgress: (t) => console.log(`  ${t.status} ${t.statusMessage ?? ''}`), // WORKING Collecting invoice INV-12345 …
});
console.log(`finance-agent: ${report.status}, total ${report.artifacts[0].parts[0].content.totals.total}`);

const leave = await client.task.create('hr-agent', 'I need some time off');
const taskId = leave.result.task.taskId;
const parked = await client.task.waitFor('hr-agent', taskId, { until: ['INPUT_REQUIRED', 'COMPLETED', 'FAILED', 'CANCELED'] });
console.log(`hr-agent: ${parked.status}: ${parked.requiredInput}`);
await client.task.send('hr-agent', taskId, '2026-12-21 to 2026-12-24');
const done = await client.task.waitFor('hr-agent', taskId);
console.log(`hr-agent: ${done.status}: ${done.messages.at(-1).parts[0].content}`);
