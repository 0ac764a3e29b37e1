// converso-audio/copy in Node 20+: the API and types of the main Node entry, over the engine
// built without re-encoding (an output that needs it is rejected with INVALID_OUTPUT).
export * from './node.js';
