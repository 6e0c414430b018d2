'use strict';
/** ARC request envelopes and one-call HTTP helpers for them (fetch). */

let seq = 0;

/**
 * A well-formed ARC request: `{ arc, id, method, requestAgent, targetAgent, params }` in the wire
 * order, `extra` last (it may override id and requestAgent in place). Ids are `e2e-<n>`.
 */
function arcRequest(method, targetAgent, params, extra = {}) {
  return { arc: '1.0', id: `e2e-${++seq}`, method, requestAgent: 'e2e-client', targetAgent, params, ...extra };
}

/** A user message with one text part. */
const userText = (content, type = 'text') => ({ role: 'user', parts: [{ type, content }] });

/** A fetch response as status, headers, text and the parsed JSON (undefined when not JSON). */
async function readAnswer(res) {
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POSTs a body (an object is sent as JSON) and reads the answer. */
async function post(url, body, headers = { 'Content-Type': 'application/arc+json' }) {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return readAnswer(await fetch(url, { method: 'POST', body: payload, headers }));
}

module.exports = { arcRequest, userText, readAnswer, post };
