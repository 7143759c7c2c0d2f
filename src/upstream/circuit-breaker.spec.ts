import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker, DEFAULT_CIRCUIT } from './circuit-breaker.js';

function breaker() {
  let now = 1_000_000;
  const circuit = new CircuitBreaker(DEFAULT_CIRCUIT, () => now);
  return { circuit, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('defaults to the documented thresholds: 80 % of at least 20 calls in 10 s, open for 5 s', () => {
    expect(DEFAULT_CIRCUIT).toEqual({ windowMs: 10_000, minimumCalls: 20, failureRatio: 0.8, openMs: 5_000 });
  });

  it('stays closed below the minimum number of calls, even if all fail', () => {
    const { circuit } = breaker();
    for (let call = 0; call < 19; call++) circuit.record(true);
    expect(circuit.refusal()).toBeUndefined();
  });

  it('opens when 80 % of the calls of the window fail, refusing with the seconds left', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 4; call++) circuit.record(false);
    for (let call = 0; call < 16; call++) circuit.record(true);
    expect(circuit.refusal()).toBe(5);
    advance(2_100);
    expect(circuit.refusal()).toBe(3);
  });

  it('stays closed while fewer than 80 % fail, and forgets calls older than the window', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 15; call++) circuit.record(true);
    advance(11_000);
    for (let call = 0; call < 5; call++) circuit.record(false);
    for (let call = 0; call < 15; call++) circuit.record(true);
    expect(circuit.refusal()).toBeUndefined();
  });

  it('lets one probe through after the open period; its success closes, its failure reopens', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 20; call++) circuit.record(true);
    advance(5_000);
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.refusal()).toBe(1);
    circuit.record(true);
    expect(circuit.refusal()).toBe(5);
    advance(5_000);
    expect(circuit.refusal()).toBeUndefined();
    circuit.record(false);
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.refusal()).toBeUndefined();
  });
});
