/** The Call tab's params editor: what was typed, as the params object of a request, or why it cannot be one. */
export function checkParams(source: string): { params: Record<string, unknown> } | { problem: string } {
  if (source.trim() === '') return { problem: 'params is empty: write a JSON object, {} at least' };
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    return { problem: `Not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'params must be a JSON object ({ … })' };
  return { params: value as Record<string, unknown> };
}
