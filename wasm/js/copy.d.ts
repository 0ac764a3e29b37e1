// converso-audio/copy in the browser: the API and types of the main entry, over the engine built
// without re-encoding (an output that needs it is rejected with INVALID_OUTPUT).
export * from './index.js';
