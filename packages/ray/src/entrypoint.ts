/** Quotes one word for a POSIX shell (Ray runs a job's entrypoint with `sh -c`-like semantics). */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** An entrypoint that runs `script` with the node's `python` (the Ray venv's, first on PATH). */
export function pythonEntrypoint(script: string): string {
  return shellCommand(['python', '-c', script]);
}
