/**
 * Tests only: kills this process with SIGKILL the Nth time a named point is reached, so a test can
 * prove that settlement survives a crash anywhere. `spec` is `POINT` or `POINT#N`. Points:
 * settle.batch-recorded, settle.batch-sent, refund.sent, anchor.sent, convert.sent, withdraw.sent (settlement),
 * ledger.after-record, ledger.after-send (inside the ledger, per payment transaction), epoch.closed,
 * epoch.minted (reward epochs).
 */
export const CRASH_POINTS = [
  'settle.batch-recorded',
  'settle.batch-sent',
  'refund.sent',
  'anchor.sent',
  'convert.sent',
  'withdraw.sent',
  'ledger.after-record',
  'ledger.after-send',
  'epoch.closed',
  'epoch.minted',
] as const;

export function crashHook(spec: string | undefined, kill: () => void = () => process.kill(process.pid, 'SIGKILL')): ((point: string) => void) | undefined {
  if (!spec) return undefined;
  const [point, nth] = spec.split('#');
  const target = nth === undefined ? 1 : Number(nth);
  let seen = 0;
  return (reached) => {
    if (reached !== point) return;
    seen += 1;
    if (seen === target) kill();
  };
}
