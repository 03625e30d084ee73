/** The reason an aborted signal carries, or a fresh AbortError DOMException when it has none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
