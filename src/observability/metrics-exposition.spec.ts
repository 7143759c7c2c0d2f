import { describe, expect, it } from '@jest/globals';
import { Counter, Histogram } from 'prom-client';
import { MetricsExposition, metricsRegistry, prefersOpenMetrics } from './metrics-exposition.js';

describe('prefersOpenMetrics', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['text/plain;version=0.0.4', false],
    ['application/openmetrics-text', true],
    // What Prometheus sends by default.
    [
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      true,
    ],
    ['application/openmetrics-text;q=0.3,text/plain', false],
    ['application/openmetrics-text;q=0', false],
  ])('Accept %p → OpenMetrics %p', (accept, expected) => {
    expect(prefersOpenMetrics(accept)).toBe(expected);
  });
});

describe('MetricsExposition', () => {
  for (const exemplars of [false, true]) {
    it(`renders either format from one ${exemplars ? 'OpenMetrics' : 'Prometheus'} registry, counter names intact after either`, async () => {
      const registry = metricsRegistry(exemplars);
      new Counter({ name: 'demo_requests_total', help: 'h', registers: [registry] }).inc();
      const histogram = new Histogram({
        name: 'demo_seconds',
        help: 'h',
        buckets: [1],
        registers: [registry],
        enableExemplars: exemplars,
      });
      if (exemplars) histogram.observe({ value: 0.5, exemplarLabels: { trace_id: 'abc' } });
      else histogram.observe(0.5);
      const exposition = new MetricsExposition(registry);
      const [open, text, openAgain] = await Promise.all([
        exposition.render('application/openmetrics-text'),
        exposition.render(undefined),
        exposition.render('application/openmetrics-text'),
      ]);
      expect(open.contentType).toMatch(/^application\/openmetrics-text/);
      expect(open.body).toContain('# TYPE demo_requests counter\ndemo_requests_total 1');
      expect(open.body.endsWith('# EOF\n')).toBe(true);
      expect(openAgain.body).toBe(open.body);
      expect(text.contentType).toMatch(/^text\/plain/);
      expect(text.body).toContain('# TYPE demo_requests_total counter\ndemo_requests_total 1');
      expect(text.body).not.toContain('# {');
      if (exemplars) expect(open.body).toMatch(/demo_seconds_bucket\{le="1"\} 1 # \{trace_id="abc"\} 0.5 /);
    });
  }
});
