import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeypair, keypairToJson } from '@idlegrid/protocol';
import { exited, runCli, startCli } from '../e2e/cli-process.ts';
import { chromiumPath, collectErrors, launch, screenshot, SCREENSHOT_DIR } from './browser.ts';

/** A Ray job that runs tasks spread over the cluster and prints how many nodes ran them. */
const JOB =
  `python -c "import ray, time; ray.init(); f = ray.remote(num_cpus=1)(lambda i: (time.sleep(1), ray.get_runtime_context().get_node_id())[1]); ` +
  `print('tasks ran on', len(set(ray.get([f.options(scheduling_strategy='SPREAD').remote(i) for i in range(6)]))), 'distinct Ray nodes')"`;

const hasChromium = existsSync(chromiumPath(process.env));

/** Epochs this short close several times while the test runs. */
const EPOCH_SECONDS = 10;

/**
 * A supplier with its own wallet (the real CLI): airdrop, stake every local device to its
 * requirement (a cpu slot needs 20 IO), propose a fee change and vote for it. Returns the proposal id.
 */
async function supplierStakesAndProposes(url: string, home: string, devices: string[]): Promise<string> {
  const env = { ...process.env, IDLEGRID_HOME: home };
  const cli = async <T>(args: string[]): Promise<T> => {
    const r = await runCli([...args, '--json', '--cloud', url], env);
    if (r.code !== 0) throw new Error(`idlegrid ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  await cli(['wallet', 'new']);
  await cli(['wallet', 'airdrop', '--io', '200']);
  for (const device of devices) await cli(['stake', 'add', '--amount', '20', '--device', device]);
  const { proposal } = await cli<{ proposal: { id: string } }>(['gov', 'propose', '--param', 'protocol_fee_bps', '--value', '300', '--why', 'fund the treasury']);
  await cli(['gov', 'vote', proposal.id, 'yes']);
  return proposal.id;
}

describe.skipIf(!hasChromium)('the web dashboard in Chromium against a local network of 3 agents', () => {
  let root: string;
  let up: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let keypairFile: string;
  let nav: Locator;
  let supplied: Promise<string>;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'idlegrid-browser-'));
    const env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), LOG_LEVEL: 'warn' };
    const started = await startCli<{ url: string; devices: string[] }>(
      ['up', '--workers', '3', '--port', '0', '--data-dir', join(root, 'net'), '--settle-seconds', '3', '--epoch-seconds', String(EPOCH_SECONDS), '--json'],
      env,
      180_000,
    );
    up = started.child;
    url = started.first.url;
    // In the background while the buyer books: awaited before the explorer's economy tabs.
    supplied = supplierStakesAndProposes(url, join(root, 'supplier'), started.first.devices);
    supplied.catch(() => undefined);
    keypairFile = join(root, 'buyer.json');
    await writeFile(keypairFile, keypairToJson(generateKeypair()));
    browser = await launch(process.env);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    errors = collectErrors(page);
    nav = page.getByRole('navigation', { name: 'Main' });
  });

  afterAll(async () => {
    await browser?.close();
    if (up) {
      up.kill('SIGTERM');
      await exited(up, 30_000);
    }
    // The control plane's log next to the screenshots, for a failure's post-mortem.
    if (root) await cp(join(root, 'net', 'cloud.log'), join(SCREENSHOT_DIR, '..', 'browser-cloud.log')).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('signs in, funds escrow, books 2 nodes in three steps, runs a Ray job, releases, and finds it all (and the token economy) in the explorer', async () => {
    // Sign in with a wallet keypair file: the browser signs the challenge with WebCrypto Ed25519.
    await page.goto(url);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Wallet keypair file').setInputFiles(keypairFile);
    await page.getByRole('heading', { name: 'Wallet' }).waitFor();

    // Airdrop, then deposit 50 USDC (signed in the browser, relayed by the control plane).
    await page.getByRole('button', { name: 'Airdrop test tokens' }).click();
    await page.getByText('Airdrop received').waitFor();
    await page.getByLabel('Token').selectOption('USDC');
    await page.getByLabel('Amount').fill('50');
    await page.getByRole('button', { name: 'Deposit', exact: true }).click();
    await page.getByText(/Deposited 50 USDC: 49 IO credited/).waitFor();
    await page.getByRole('table').getByText('50.00 USDC').waitFor();
    await screenshot(page, '02-wallet');

    // Step 1: what cannot fit says why and what could; 2 cpu slots spread fit.
    await nav.getByRole('link', { name: 'Book a cluster' }).click();
    await page.getByLabel('GPU model').selectOption('cpu');
    await page.getByLabel('GPU count').fill('5');
    await page.getByText('It cannot fit:').waitFor();
    await screenshot(page, '03-book-why-not');
    await page.getByLabel('GPU count').fill('2');
    await page.getByLabel('Duration (hours)').fill('0.25');
    await page.getByLabel(/spread/).check();
    await page.getByText('Price per hour').waitFor();
    await expect.poll(() => page.getByText(/cheaper than hyperscaler on-demand/).count()).toBe(1);
    await screenshot(page, '04-book-quote');

    // Step 2: deploy and watch the lease states and nodes joining.
    await page.getByRole('button', { name: 'Deploy cluster' }).click();
    await page.waitForURL(/\/clusters\/lse_/);
    const clusterId = /\/clusters\/(lse_[A-Za-z0-9]+)/.exec(page.url())?.[1] ?? '';
    expect(clusterId).not.toBe('');
    await page.getByRole('heading', { name: '2. Deploy' }).waitFor({ timeout: 30_000 }).catch(() => undefined);
    await screenshot(page, '05-deploying');

    // Step 3: ready; submit a Ray job through the proxy and follow its logs.
    await page.getByRole('heading', { name: '3. Use and pay' }).waitFor({ timeout: 240_000 });
    await expect.poll(() => page.locator('table').last().getByText('joined').count(), { timeout: 30_000 }).toBe(2);
    await page.getByLabel(/Entrypoint/).fill(JOB);
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.getByRole('table', { name: 'Ray jobs' }).getByText('succeeded').waitFor({ timeout: 180_000 });
    await expect.poll(() => page.getByTestId('job-logs').textContent(), { timeout: 30_000 }).toContain('tasks ran on 2 distinct Ray nodes');
    await screenshot(page, '06-cluster-job-succeeded');

    // My clusters, live.
    await nav.getByRole('link', { name: 'My clusters' }).click();
    await page.getByRole('link', { name: clusterId }).waitFor();
    await screenshot(page, '07-my-clusters');

    // Release (with a confirmation) and wait for the end of the lease.
    await page.getByRole('link', { name: clusterId }).click();
    await page.getByRole('button', { name: 'Release' }).click();
    await page.getByRole('button', { name: 'Confirm release' }).click();
    await page.getByRole('heading', { name: /Cluster/ }).getByText('ended').waitFor({ timeout: 120_000 });
    await page.getByText(/refunded \d/).waitFor({ timeout: 90_000 });
    await screenshot(page, '08-cluster-released');

    // The explorer shows the lease, its payouts and the burn, each with its transactions and memo.
    await page.getByRole('link', { name: 'See it in the explorer' }).click();
    const detail = page.getByTestId('lease-detail');
    await expect.poll(() => detail.locator('.payout').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    await expect.poll(async () => (await detail.locator('.burn').allTextContents()).some((t) => !/\/ 0\.00$/.test(t.trim()))).toBe(true);
    await detail.getByText(/idlegrid:settle:/).first().waitFor();
    const supplier = (await detail.locator('.payout code').first().getAttribute('title')) ?? '';
    await screenshot(page, '09-explorer-lease');
    await page.getByRole('tab', { name: 'payouts' }).click();
    await page.getByRole('table').getByText(/idlegrid:settle:/).first().waitFor();
    await screenshot(page, '10-explorer-payouts');
    await page.getByRole('tab', { name: 'burns' }).click();
    await page.getByRole('table').first().waitFor();
    await screenshot(page, '11-explorer-burns');
    // Totals: the IO token from the chain, conservation holding.
    const conservation = page.getByTestId('conservation');
    await expect.poll(() => conservation.getAttribute('data-ok'), { timeout: 15_000 }).toBe('true');
    expect(await conservation.textContent()).toContain('holds');

    // Epochs: a closed epoch minted, with its mint transaction and memo, and what each device got.
    const proposalId = await supplied;
    await page.getByRole('tab', { name: 'epochs & emissions' }).click();
    const minted = page.getByTestId('epoch-row').and(page.locator('[data-state="minted"]'));
    await minted.first().waitFor({ timeout: 3 * EPOCH_SECONDS * 1000 });
    await minted.first().locator('td.mint code.mono').first().waitFor();
    await minted.first().getByText(/^idlegrid:epoch:/).waitFor();
    await page.getByRole('img', { name: 'IO emitted per epoch' }).waitFor();
    await page.getByTestId('epoch-rewards').first().waitFor();
    await screenshot(page, '12-explorer-emissions');

    // Governance: the supplier's proposal with its yes vote and the CLI line to vote; the parameters in force.
    await page.getByRole('tab', { name: 'governance' }).click();
    const proposal = page.getByTestId('proposals').getByRole('row').filter({ hasText: proposalId });
    await proposal.getByText('voting', { exact: true }).waitFor();
    await proposal.getByText(`idlegrid gov vote ${proposalId} yes`).waitFor();
    expect(await proposal.textContent()).toMatch(/yes 60\.00/);
    await screenshot(page, '13-explorer-governance');
    await page.getByRole('tab', { name: 'parameters' }).click();
    await page.getByTestId('params').getByText('protocol_fee_bps').waitFor();
    await screenshot(page, '14-explorer-parameters');

    // Supply: the device that served, opened: stake covered, proof of GPU passed, and its rewards per epoch.
    await nav.getByRole('link', { name: 'Supply' }).click();
    await page.getByTestId('your-stakes').getByText(/Your wallet stakes no device/).waitFor(); // the buyer is not the staker
    await page.getByRole('row').filter({ has: page.locator(`[title="${supplier}"]`) }).getByRole('button', { name: 'Details' }).click();
    const device = page.getByTestId('device-details');
    await device.getByText('Earnings per epoch').waitFor();
    await device.getByText(/100 % covered/).waitFor({ timeout: 15_000 });
    await device.getByTestId('verifications').getByText('passed').first().waitFor();
    // An epoch closed after the stake landed: the device was eligible and minted a stipend.
    await device.getByTestId('device-epochs').getByText('eligible', { exact: true }).first().waitFor({ timeout: 3 * EPOCH_SECONDS * 1000 });
    await device.getByRole('img', { name: 'IO earned per epoch' }).waitFor();
    await device.scrollIntoViewIfNeeded();
    await screenshot(page, '15-supply');

    expect(errors).toEqual([]);
  });
});
