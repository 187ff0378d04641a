import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeypair, keypairToJson } from '@idlegrid/protocol';
import { exited, startCli } from '../e2e/cli-process.ts';
import { chromiumPath, collectErrors, launch, screenshot } from './browser.ts';

/** A Ray job that runs tasks spread over the cluster and prints how many nodes ran them. */
const JOB =
  `python -c "import ray, time; ray.init(); f = ray.remote(num_cpus=1)(lambda i: (time.sleep(1), ray.get_runtime_context().get_node_id())[1]); ` +
  `print('tasks ran on', len(set(ray.get([f.options(scheduling_strategy='SPREAD').remote(i) for i in range(6)]))), 'distinct Ray nodes')"`;

const hasChromium = existsSync(chromiumPath(process.env));

describe.skipIf(!hasChromium)('the web dashboard in Chromium against a local network of 3 agents', () => {
  let root: string;
  let up: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let keypairFile: string;
  let nav: Locator;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'idlegrid-browser-'));
    const env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), LOG_LEVEL: 'warn' };
    const started = await startCli<{ url: string }>(['up', '--workers', '3', '--port', '0', '--data-dir', join(root, 'net'), '--settle-seconds', '3', '--json'], env, 180_000);
    up = started.child;
    url = started.first.url;
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
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('signs in, funds escrow, books 2 nodes in three steps, runs a Ray job, releases, and finds it all in the explorer', async () => {
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
    await page.getByText(/refunded \d/).waitFor({ timeout: 60_000 });
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
    await page.getByRole('tab', { name: 'emissions' }).click();
    await page.getByRole('tabpanel').getByText(/emissions/i).first().waitFor();
    await screenshot(page, '12-explorer-emissions');

    // Supply: the devices, one opened, with its earnings per epoch.
    await nav.getByRole('link', { name: 'Supply' }).click();
    await page.getByRole('row').filter({ has: page.locator(`[title="${supplier}"]`) }).getByRole('button', { name: 'Details' }).click();
    await page.getByText('Earnings per epoch').waitFor();
    await page.getByRole('img', { name: 'IO earned per hourly epoch' }).waitFor();
    await screenshot(page, '13-supply');

    expect(errors).toEqual([]);
  });
});
