import { useEffect, useRef, useState, type FormEvent } from 'react';
import { request } from '../lib/api.ts';
import { when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Empty, ErrorNote, Loading, StateBadge } from '../components/ui.tsx';

interface RayJob {
  submission_id?: string | null;
  job_id?: string | null;
  status: string;
  entrypoint: string;
  message?: string | null;
  start_time?: number | null;
  end_time?: number | null;
}

const TERMINAL = ['STOPPED', 'SUCCEEDED', 'FAILED'];
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Ray colours its log lines; a <pre> shows the escape codes as noise. */
function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
export const DEFAULT_ENTRYPOINT = `python -c "import ray; ray.init(); print('alive Ray nodes:', sum(n['Alive'] for n in ray.nodes()))"`;

/** Ray jobs through the authenticated proxy: submit, status, logs streaming while a job runs. */
export function JobsPanel({ rayUrl, apiKey }: { rayUrl: string; apiKey: string }) {
  const base = new URL(rayUrl).pathname.replace(/\/$/, '');
  const jobs = useAsync((signal) => request<RayJob[]>('GET', `${base}/api/jobs/`, { key: apiKey, signal }), [base, apiKey], 2000);
  const [entrypoint, setEntrypoint] = useState(DEFAULT_ENTRYPOINT);
  const [selected, setSelected] = useState<string | null>(null);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setSubmitError(null);
    try {
      const r = await request<{ submission_id: string }>('POST', `${base}/api/jobs/`, { key: apiKey, body: { entrypoint } });
      setSelected(r.submission_id);
      jobs.reload();
    } catch (err) {
      setSubmitError(err);
    } finally {
      setBusy(false);
    }
  };

  const list = [...(jobs.data ?? [])].sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0));
  const current = list.find((j) => j.submission_id === selected);
  return (
    <div className="card">
      <h2>Jobs</h2>
      <form onSubmit={(e) => void submit(e)} aria-label="Submit a Ray job">
        <label>
          <span>
            Entrypoint: a shell command run on the head, as with <code>ray job submit -- …</code>
          </span>
          <textarea value={entrypoint} onChange={(e) => setEntrypoint(e.target.value)} rows={3} spellCheck={false} required />
        </label>
        <button type="submit" disabled={busy || !entrypoint.trim()}>
          {busy ? 'Submitting…' : 'Submit job'}
        </button>
      </form>
      <ErrorNote error={submitError} />
      {jobs.loading && !jobs.data ? <Loading what="jobs" /> : null}
      <ErrorNote error={jobs.error} retry={jobs.reload} />
      {jobs.data && list.length === 0 ? <Empty>No jobs yet. Submit one above or with the command line.</Empty> : null}
      {list.length > 0 ? (
        <table>
          <caption className="sr-only">Ray jobs</caption>
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Entrypoint</th>
              <th scope="col">Logs</th>
            </tr>
          </thead>
          <tbody>
            {list.map((j) => (
              <tr key={j.submission_id ?? j.job_id ?? j.entrypoint} className={j.submission_id === selected ? 'hl' : ''}>
                <td>
                  <code>{j.submission_id}</code>
                </td>
                <td>
                  <StateBadge state={j.status} />
                </td>
                <td>{when(j.start_time)}</td>
                <td className="clip" title={j.entrypoint}>
                  {j.entrypoint}
                </td>
                <td>
                  <button type="button" className="secondary small" onClick={() => setSelected(j.submission_id ?? null)} aria-label={`Show logs of ${j.submission_id}`}>
                    Logs
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {selected ? <JobLogs base={base} apiKey={apiKey} id={selected} running={!current || !TERMINAL.includes(current.status)} message={current?.message ?? null} /> : null}
    </div>
  );
}

function JobLogs({ base, apiKey, id, running, message }: { base: string; apiKey: string; id: string; running: boolean; message: string | null }) {
  const [logs, setLogs] = useState('');
  const [error, setError] = useState<unknown>(null);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const controller = new AbortController();
    const fetchLogs = () =>
      request<{ logs: string }>('GET', `${base}/api/jobs/${encodeURIComponent(id)}/logs`, { key: apiKey, signal: controller.signal }).then(
        (r) => {
          setLogs(r.logs);
          setError(null);
        },
        (e: unknown) => {
          if (!controller.signal.aborted) setError(e);
        },
      );
    void fetchLogs();
    const t = running ? setInterval(() => void fetchLogs(), 1000) : undefined;
    return () => {
      controller.abort();
      if (t) clearInterval(t);
    };
  }, [base, apiKey, id, running]);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [logs]);
  return (
    <section aria-label={`Logs of ${id}`}>
      <h3>
        Logs of <code>{id}</code> {running ? <span className="muted">(following…)</span> : null}
      </h3>
      {message ? <p className="muted">{message}</p> : null}
      <ErrorNote error={error} />
      <pre className="logs" ref={pre} tabIndex={0} data-testid="job-logs">
        {stripAnsi(logs) || (running ? 'Waiting for output…' : '(no output)')}
      </pre>
    </section>
  );
}
