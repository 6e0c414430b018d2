/**
 * The connection settings, kept for this browser tab only (sessionStorage): the endpoint, the
 * requestAgent, and the bearer token, which is never written to localStorage, the log or the
 * page (the log masks it; the displayed curl command names $ARC_TOKEN instead).
 */

export interface Settings {
  /** The ARC endpoint as typed (a path on this server by default). */
  endpoint: string;
  token: string;
  requestAgent: string;
}

const KEY = 'arc-inspector.settings';

/** `/arc` beside the inspector: `/inspector/` → `/arc`, `/prefix/inspector/` → `/prefix/arc`. */
export function defaultEndpoint(): string {
  return new URL('../arc', window.location.href).pathname;
}

export function loadSettings(): Settings {
  const defaults: Settings = { endpoint: defaultEndpoint(), token: '', requestAgent: 'arc-inspector' };
  try {
    const saved = JSON.parse(window.sessionStorage.getItem(KEY) ?? '{}') as Partial<Settings>;
    return {
      endpoint: typeof saved.endpoint === 'string' && saved.endpoint !== '' ? saved.endpoint : defaults.endpoint,
      token: typeof saved.token === 'string' ? saved.token : '',
      requestAgent: typeof saved.requestAgent === 'string' && saved.requestAgent !== '' ? saved.requestAgent : defaults.requestAgent,
    };
  } catch {
    return defaults;
  }
}

export function saveSettings(settings: Settings): void {
  try {
    window.sessionStorage.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Storage refused (private mode, quota): the settings last as long as the page.
  }
}

/** The endpoint as an absolute URL on this origin, or why it cannot be used. */
export function resolveEndpoint(endpoint: string): { url: string } | { problem: string } {
  let url: URL;
  try {
    url = new URL(endpoint.trim(), window.location.href);
  } catch {
    return { problem: `"${endpoint}" is not a URL or a path` };
  }
  if (url.origin !== window.location.origin) {
    return {
      problem: `The inspector only calls the server that serves it (its Content-Security-Policy allows this origin only): use a path such as /arc, or open ${url.origin}/inspector/`,
    };
  }
  return { url: url.href };
}
