const STEPS = ['Search and define', 'Deploy', 'Use and pay'];

/** The booking's three steps; `current` is 1-based. */
export function Steps({ current }: { current: 1 | 2 | 3 }) {
  return (
    <ol className="steps" aria-label="Booking steps">
      {STEPS.map((s, i) => (
        <li key={s} className={i + 1 === current ? 'current' : i + 1 < current ? 'done' : ''} aria-current={i + 1 === current ? 'step' : undefined}>
          <span className="step-n">{i + 1}</span> {s}
        </li>
      ))}
    </ol>
  );
}
