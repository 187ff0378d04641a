/** Any value that JSON can carry. Stored as JSON text in both dialects (exact round trip). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function encodeJson(value: JsonValue): string {
  const text = JSON.stringify(value);
  // JSON.stringify returns undefined for undefined/functions smuggled past the type.
  if (typeof text !== 'string') throw new TypeError('value is not JSON-serializable');
  return text;
}

export function decodeJson(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

export function decodeJsonOrNull(text: string | null): JsonValue | null {
  return text === null ? null : decodeJson(text);
}
