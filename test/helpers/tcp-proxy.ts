// The cuttable TCP proxy lives in src/tools (the chaos drill uses it too).
export * from '../../src/tools/tcp-proxy.js';
