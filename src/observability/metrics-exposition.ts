import { Registry, type Metric, type RegistryContentType } from 'prom-client';

/** The exposition formats of /metrics: the Prometheus text format, or OpenMetrics (with exemplars). */
export interface Exposition {
  contentType: string;
  body: string;
}

const OPENMETRICS = 'application/openmetrics-text';

/**
 * The gateway's registry. prom-client accepts exemplars only on histograms of an OpenMetrics
 * registry, so with exemplars on the registry is one; the exposition renders either format anyway.
 */
export function metricsRegistry(exemplars: boolean): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  if (exemplars) registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/**
 * Whether a scrape's Accept header ranks OpenMetrics above the Prometheus text format (RFC 9110
 * q-values; Prometheus itself sends `application/openmetrics-text;version=1.0.0,…,text/plain;q=0.5`).
 * No header, or one that does not name OpenMetrics, keeps the text format.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === OPENMETRICS) openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
}

/**
 * Renders one registry's metrics in the format a scrape asks for. prom-client fixes the format
 * per registry and, rendering OpenMetrics, renames every counter family in place (drops
 * `_total`): so each rendering uses a registry of the asked format over the same metric objects,
 * restores the names afterwards, and renderings run one at a time, so that a text-format scrape
 * never sees a renamed family.
 */
export class MetricsExposition {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly registry: Registry<RegistryContentType>) {}

  render(accept: string | undefined): Promise<Exposition> {
    const next = this.queue.then(() => this.renderAs(prefersOpenMetrics(accept)));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async renderAs(openMetrics: boolean): Promise<Exposition> {
    const metrics = this.registry.getMetricsAsArray() as unknown as (Metric & { name: string })[];
    const names = metrics.map((metric) => metric.name);
    const registry = metricsRegistry(openMetrics);
    for (const metric of metrics) registry.registerMetric(metric);
    try {
      return { contentType: registry.contentType, body: await registry.metrics() };
    } finally {
      metrics.forEach((metric, index) => (metric.name = names[index]!));
    }
  }
}
