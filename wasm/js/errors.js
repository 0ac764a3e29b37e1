// Errors of the converso-audio package: every failure of probe() and extract() is a
// ConversoError whose `code` is one of the API's error codes (INVALID_VIDEO, INVALID_OUTPUT,
// EXTRACTION_FAILED, ...). Cancellation is not an error of ours: it rejects with the
// AbortSignal's reason, as fetch() does.

export class ConversoError extends Error {
  constructor(code, message, details) {
    super(message);
    this.name = 'ConversoError';
    this.code = code;
    if (details != null) this.details = details;
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.details != null && { details: this.details }) };
  }
}

// What the engine throws ({code, message, details}), a trap of the wasm module, or anything
// else, as a ConversoError. AbortSignal reasons pass through unchanged.
export function toConversoError(e, signal) {
  if (e instanceof ConversoError) return e;
  if (signal?.aborted && e === signal.reason) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') {
    return new ConversoError(e.code, e.message, e.details ?? undefined);
  }
  const text = e instanceof Error ? e.message : String(e);
  return new ConversoError('EXTRACTION_FAILED', `the extraction stopped unexpectedly: ${text}`);
}
