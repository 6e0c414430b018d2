/**
 * The current time as an ISO-8601 string (`new Date().toISOString()`), formatted at most once
 * per millisecond. Formatting a Date costs about as much as a Map lookup; a busy server asks
 * for the time twice per request (the chat's createdAt and the log line's timestamp) and many
 * requests share a millisecond.
 */
let lastMs = Number.NaN;
let lastIso = '';

export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastIso = new Date(now).toISOString();
    lastMs = now;
  }
  return lastIso;
}
