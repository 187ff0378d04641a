import { describe, expect, it } from 'vitest';
import { generateKeypair } from '@idlegrid/protocol';
import { isIdlegridError, type IdlegridError } from '@idlegrid/domain';
import { agentGatewayUrl, loadAgentConfig } from './config.ts';
import { DEFAULT_PRICE_PER_GPU_HOUR } from './default-prices.ts';

const ENV = { HOME: '/home/alice' };

function configError(fn: () => unknown): IdlegridError<'CONFIG_INVALID'> {
  try {
    fn();
  } catch (e) {
    if (isIdlegridError(e, 'CONFIG_INVALID')) return e;
    throw e;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('loadAgentConfig', () => {
  it('fills in defaults', () => {
    const config = loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: 'http://127.0.0.1:8080/' });
    expect(config).toEqual({
      cloudUrl: 'http://127.0.0.1:8080',
      agentUrl: 'ws://127.0.0.1:8080/v1/agent',
      agentUrls: ['ws://127.0.0.1:8080/v1/agent'],
      dataDir: '/home/alice/.idlegrid/agent',
      keypairPath: '/home/alice/.idlegrid/agent/device-key.json',
      region: 'local',
      pricePerGpuHour: null,
      payout: null,
      echoPort: 0,
      echoHost: '0.0.0.0',
      rayPortBase: 20_000,
      nodeIp: null,
      sandbox: null,
      sandboxUser: 'idlegrid-ray',
      python: 'python3',
    });
  });

  it('honours IDLEGRID_HOME and lets flags win over the environment', () => {
    const payout = generateKeypair().address;
    const config = loadAgentConfig(
      { ...ENV, IDLEGRID_HOME: '~/ig', IDLEGRID_CLOUD_URL: 'http://env:1', IDLEGRID_REGION: 'us-east', IDLEGRID_PRICE: '9.00' },
      { cloudUrl: 'https://cloud.example.org/base', region: 'eu-west', pricePerGpuHour: '2.25', payout, keypairPath: '~/keys/dev.json', dataDir: undefined },
    );
    expect(config).toMatchObject({
      cloudUrl: 'https://cloud.example.org/base',
      agentUrl: 'wss://cloud.example.org/base/v1/agent',
      dataDir: '/home/alice/ig/agent',
      keypairPath: '/home/alice/keys/dev.json',
      region: 'eu-west',
      pricePerGpuHour: '2.25',
      payout,
    });
  });

  it('takes several replicas, comma-separated, and refuses a list with a bad one', () => {
    const config = loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: 'http://a:1/, https://b.example/x' });
    expect(config).toMatchObject({ cloudUrl: 'http://a:1', agentUrl: 'ws://a:1/v1/agent', agentUrls: ['ws://a:1/v1/agent', 'wss://b.example/x/v1/agent'] });
    expect(configError(() => loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: 'http://a:1,ftp://b' })).context.issues[0]?.path).toBe('cloudUrl');
  });

  it('treats empty values as unset', () => {
    const config = loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: 'http://h:1', IDLEGRID_REGION: '', IDLEGRID_AGENT_DATA_DIR: '/var/lib/idlegrid' }, { region: '  ' });
    expect(config.region).toBe('local');
    expect(config.keypairPath).toBe('/var/lib/idlegrid/device-key.json');
  });

  it('reports every problem at once as CONFIG_INVALID', () => {
    const error = configError(() =>
      loadAgentConfig(ENV, { region: 'mars-north', pricePerGpuHour: '-1', payout: 'not-an-address' }),
    );
    expect(error.context.issues.map((i) => i.path).sort()).toEqual(['cloudUrl', 'payout', 'pricePerGpuHour', 'region']);
    expect(error.message).toMatch(/IDLEGRID_CLOUD_URL/);
    expect(error.message).toMatch(/unknown region mars-north/);
  });

  it('accepts only http(s) cloud URLs', () => {
    for (const bad of ['ws://h:1', 'ftp://h', 'localhost:8080', 'http://']) {
      expect(configError(() => loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: bad })).context.issues[0]?.path).toBe('cloudUrl');
    }
  });

  it('reads the RTT echo port and bind address', () => {
    const base = { ...ENV, IDLEGRID_CLOUD_URL: 'http://h:1' };
    expect(loadAgentConfig({ ...base, IDLEGRID_ECHO_PORT: '7946', IDLEGRID_ECHO_HOST: '::' })).toMatchObject({ echoPort: 7946, echoHost: '::' });
    expect(loadAgentConfig(base, { echoPort: '0', echoHost: '127.0.0.1' })).toMatchObject({ echoPort: 0, echoHost: '127.0.0.1' });
    const error = configError(() => loadAgentConfig({ ...base, IDLEGRID_ECHO_PORT: '65536', IDLEGRID_ECHO_HOST: 'localhost' }));
    expect(error.context.issues.map((i) => i.path).sort()).toEqual(['echoHost', 'echoPort']);
    expect(configError(() => loadAgentConfig(base, { echoPort: '-1' })).context.issues[0]?.path).toBe('echoPort');
  });

  it('reads the Ray port base, node IP and sandbox settings', () => {
    const base = { ...ENV, IDLEGRID_CLOUD_URL: 'http://h:1' };
    expect(
      loadAgentConfig({ ...base, IDLEGRID_RAY_PORT_BASE: '30000', IDLEGRID_NODE_IP: '203.0.113.7', IDLEGRID_SANDBOX: 'bwrap', IDLEGRID_SANDBOX_USER: 'rayrunner' }),
    ).toMatchObject({ rayPortBase: 30_000, nodeIp: '203.0.113.7', sandbox: 'bwrap', sandboxUser: 'rayrunner' });
    expect(loadAgentConfig(base, { sandbox: 'none', nodeIp: '::1' })).toMatchObject({ sandbox: 'none', nodeIp: '::1' });
    const error = configError(() =>
      loadAgentConfig({ ...base, IDLEGRID_RAY_PORT_BASE: '65400', IDLEGRID_NODE_IP: '0.0.0.0', IDLEGRID_SANDBOX: 'docker', IDLEGRID_SANDBOX_USER: 'Root Kit' }),
    );
    expect(error.context.issues.map((i) => i.path).sort()).toEqual(['nodeIp', 'rayPortBase', 'sandbox', 'sandboxUser']);
    expect(configError(() => loadAgentConfig(base, { rayPortBase: '80' })).context.issues[0]?.path).toBe('rayPortBase');
  });

  it('rejects prices with more than 6 decimals', () => {
    expect(() => loadAgentConfig({ ...ENV, IDLEGRID_CLOUD_URL: 'http://h:1', IDLEGRID_PRICE: '0.1234567' })).toThrow(/pricePerGpuHour/);
  });
});

describe('agentGatewayUrl', () => {
  it('derives ws(s) URLs and drops query and fragment', () => {
    expect(agentGatewayUrl('https://c.example:8443')).toBe('wss://c.example:8443/v1/agent');
    expect(agentGatewayUrl('http://c.example/x/?q=1#f')).toBe('ws://c.example/x/v1/agent');
  });
});

describe('default prices', () => {
  it('are valid decimals for every model', () => {
    for (const price of Object.values(DEFAULT_PRICE_PER_GPU_HOUR)) expect(price).toMatch(/^\d+\.\d{2}$/);
  });
});
