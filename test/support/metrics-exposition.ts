// Reading the Prometheus text exposition format (what /metrics serves) strictly enough that a
// test notices a line it cannot account for.

export interface LabelPair {
  /** The sample line the label stands in. */
  line: string;
  name: string;
  /** Unescaped: `\"`, `\\` and `\n` as the characters they stand for. */
  value: string;
}

const SAMPLE_LINE = /^[A-Za-z_:][A-Za-z0-9_:]*(?:\{(.*)\})? \S+$/;

/** Every label of every sample line of a Prometheus text exposition; throws on what it cannot parse. */
export function labelPairs(exposition: string): LabelPair[] {
  const pairs: LabelPair[] = [];
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`unparseable metrics line: ${line}`);
    const labels = sample[1] ?? '';
    const label = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    while (label.lastIndex < labels.length) {
      const match = label.exec(labels);
      if (!match) throw new Error(`unparseable labels in: ${line}`);
      const value = match[2]!.replace(/\\(.)/g, (_, escaped: string) => (escaped === 'n' ? '\n' : escaped));
      pairs.push({ line, name: match[1]!, value });
    }
  }
  return pairs;
}
