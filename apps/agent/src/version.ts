/** The agent's version as it reports it in hello; kept equal to package.json by a test. */
export const AGENT_VERSION = '0.1.0';
