/**
 * The value of one sample of a Prometheus text exposition: the metric `name` with exactly the
 * labels given (none: the sample without labels); undefined when there is no such line.
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .sort()
    .join(',');
  for (const line of exposition.split('\n')) {
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const present = (sample[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (present === wanted) return Number(sample[3]);
  }
  return undefined;
}
